// expect: net NET_ERROR
fazt.net.fetch(Symbol("u"))
