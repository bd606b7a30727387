// expect: value "TypeError"
(async () => { try { await import("ext:core/ops"); return "imported"; } catch (e) { return e.name; } })()
