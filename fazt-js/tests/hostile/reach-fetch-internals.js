// expect: value ["function","undefined",true]
[typeof fazt.net.fetch, typeof fazt.net.fetch.ops, Object.isFrozen(fazt.net)]
