// expect: value [false,false,false]
const g = Function("return this")();
["Deno", "__bootstrap", "gc"].map((n) => n in g)
