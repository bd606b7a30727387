// expect: timeout
fazt.net.fetch("BASE/slow"); fazt.net.fetch("BASE/slow"); while (true) {}
