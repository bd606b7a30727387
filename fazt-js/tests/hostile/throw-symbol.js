// expect: uncaught Symbol()
throw Symbol("s")
