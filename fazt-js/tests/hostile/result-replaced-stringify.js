// expect: value {"a":1}
JSON.stringify = () => { throw new Error("replaced"); }; ({ a: 1 })
