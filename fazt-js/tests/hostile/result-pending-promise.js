// expect: uncaught pending
new Promise(() => {})
