// expect: value "undefined"
typeof SharedArrayBuffer
