// expect: net NET_SIZE
fazt.net.fetch("BASE/x", { method: "POST", body: "x".repeat(20 << 20) })
