// expect: uncaught Uncaught Error
class E extends Error { get message() { while (true) {} } }
throw new E()
