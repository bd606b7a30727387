// expect: value "undefined"
(async () => (async function () {}).constructor("return typeof Deno")())()
