// expect: timeout
// An iterator helper over a built-in iterator calls its next() directly,
// skipping the calls the engine checks.
Array.prototype.values.call({ length: 2 ** 53 - 1 }).drop(2 ** 53 - 3).next()
