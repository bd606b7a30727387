// expect: result
globalThis.self = globalThis; globalThis
