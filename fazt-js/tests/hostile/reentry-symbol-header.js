// expect: net NET_ERROR
fazt.net.fetch("BASE/x", { headers: { a: Symbol("v") } })
