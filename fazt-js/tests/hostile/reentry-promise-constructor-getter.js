// expect: value ["TypeError", "TypeError", "TypeError", true]
// deno_core's own JS chains on promises of its own (an async op's) with
// `catch`, whose species lookup reads Promise.prototype.constructor and
// Promise[Symbol.species]: a script that could replace either would be
// handed deno_core's promise, or make the promise an op returns. Neither
// can be replaced; subclasses still work.
const tryDefine = (o, key, desc) => {
  try {
    Object.defineProperty(o, key, desc);
    return "replaced";
  } catch (e) {
    return e.name;
  }
};
const getter = { get() { return Promise; }, configurable: true };
class Sub extends Promise {}
[
  tryDefine(Promise.prototype, "constructor", getter),
  tryDefine(Promise.prototype, "constructor", { value: Object }),
  tryDefine(Promise, Symbol.species, getter),
  Sub.resolve(1).then(() => 0) instanceof Sub,
]
