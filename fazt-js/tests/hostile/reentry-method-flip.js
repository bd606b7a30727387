// expect: value "one read"
let reads = 0;
try { fazt.net.fetch("https://evil.test/", { get method() { reads++; return reads === 1 ? "GET" : { toString() { return fazt.net.fetch("BASE/y"); } }; } }); } catch {}
reads === 1 ? "one read" : `read ${reads} times`
