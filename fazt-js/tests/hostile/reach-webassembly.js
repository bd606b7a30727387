// expect: value ["undefined","undefined","undefined"]
[typeof WebAssembly, typeof performance, typeof Temporal]
