// expect: value {"reads":0}
// The engine layer read a test hook, `__v8x_fast_api_next_call`, from the
// global on every call of a native with a fast variant (the ops among
// them): a getter there ran inside every op call, and a non-zero value
// switched the call to the fast path. The hook is gone.
let reads = 0;
Object.defineProperty(globalThis, "__v8x_fast_api_next_call", {
  get() { reads++; return 0; },
  configurable: true,
});
console.log("a");
try { fazt.net.fetch("https://nope.invalid/"); } catch {}
({ reads })
