// expect: result
1n
