// expect: oom
// Promise jobs that queue each other through native thenables: the engine
// runs them in a loop that does not check for termination; the chain grows
// the heap until the limit ends it.
const spin = () => Promise.resolve().then(spin); spin(); new Promise(() => {})
