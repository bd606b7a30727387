// expect: value []
Reflect.ownKeys(globalThis).filter((k) => typeof k === "symbol").map(String)
