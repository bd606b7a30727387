// expect: net NET_ERROR
// Many empty header pairs (440 000 in the attack) measured 0 bytes and were
// all copied out of the engine (260 MB): each now counts 4 bytes of framing.
const N = 20000;
const P = ["", ""];
const h = new Proxy([], { get(t, k) { return k === "length" ? N : P; } });
fazt.net.fetch("https://example.com/", { headers: h });
