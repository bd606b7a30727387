// expect: value []
Object.getOwnPropertyNames(globalThis).filter((n) => /v8x|^__|^op_|^Deno/.test(n))
