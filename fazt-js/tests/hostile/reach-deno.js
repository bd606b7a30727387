// expect: value "undefined"
typeof Deno
