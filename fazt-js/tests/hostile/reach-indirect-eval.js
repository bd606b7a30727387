// expect: value "undefined"
(0, eval)("typeof Deno")
