// expect: value ["undefined","undefined","undefined"]
[typeof __bootstrap, typeof __infra, typeof gc]
