// expect: value "rejected"
(async () => { try { await import("file:///etc/passwd"); return "imported"; } catch (e) { return "rejected"; } })()
