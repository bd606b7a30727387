// expect: value [["hi","hi",2],[]]
// Promise.resolve and Promise.reject replaced by the script: the web classes
// keep the ones they started with, so the script's functions never see
// what the classes settle their promises with (a body's internal record).
const seen = [];
const spy = (original) => function (v) {
  if (v !== null && typeof v === "object") seen.push(Object.keys(v).join());
  return original.call(this, v);
};
Promise.resolve = spy(Promise.resolve);
Promise.reject = spy(Promise.reject);
(async () => {
  const r = new Response("hi");
  const c = r.clone();
  const text = await r.text();
  const again = await r.text().catch((e) => e.name);
  const bytes = await c.bytes();
  return [[text, again === "TypeError" ? "hi" : again, bytes.length], seen];
})()
