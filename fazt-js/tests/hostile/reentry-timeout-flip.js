// expect: value "one read"
let n = 0;
fazt.net.fetch("BASE/x", { get timeout() { return n++ === 0 ? 1000 : { valueOf() { return fazt.net.fetch("BASE/y"); } }; } });
n === 1 ? "one read" : `read ${n} times`
