// expect: value "done"
console.log({ toJSON() { try { fazt.net.fetch("BASE/again"); } catch {} return "j"; } });
"done"
