// expect: value "undefined"
(function* () {}).constructor("yield typeof Deno")().next().value
