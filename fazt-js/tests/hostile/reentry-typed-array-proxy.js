// expect: net NET_ERROR
fazt.net.fetch("BASE/x", { method: "POST", body: new Proxy(new Uint8Array(4), {}) })
