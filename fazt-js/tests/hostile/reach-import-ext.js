// expect: value "TypeError"
(async () => { try { await import("ext:core/mod.js"); return "imported"; } catch (e) { return e.name; } })()
