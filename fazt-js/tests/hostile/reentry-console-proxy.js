// expect: value "printed"
console.log(new Proxy({}, { get() { throw new Error("trap"); }, ownKeys() { throw new Error("trap"); } }));
"printed"
