// expect: net NET_SIZE
fazt.net.fetch("BASE/x", { method: "POST", body: new Uint8Array(20 << 20) })
