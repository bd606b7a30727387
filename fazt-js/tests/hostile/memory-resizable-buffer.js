// expect: uncaught out of memory
const keep = [];
for (let i = 0; i < 14; i++) { const b = new ArrayBuffer(1, { maxByteLength: 128 << 20 }); b.resize(128 << 20); new Uint8Array(b).fill(1); keep.push(b); }
