// expect: uncaught out of memory
new ArrayBuffer(2 ** 40)
