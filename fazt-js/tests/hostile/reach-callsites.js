// expect: value []
const leaked = [];
Error.prepareStackTrace = (e, sites) => {
  for (const s of sites) {
    const f = s.getFunction && s.getFunction();
    const t = s.getThis && s.getThis();
    if (f !== undefined || t !== undefined) leaked.push(s.getFunctionName());
  }
  return "";
};
try { fazt.net.fetch("https://x.test/", { get method() { throw new Error("boom"); } }); } catch (e) { e.stack; }
leaked
