// expect: result
Symbol("s")
