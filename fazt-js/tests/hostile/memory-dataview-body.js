// expect: net NET_SIZE
fazt.net.fetch("BASE/x", { method: "POST", body: new DataView(new ArrayBuffer(20 << 20)) })
