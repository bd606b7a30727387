// expect: timeout
// A blocking call to an upstream slower than the run: the call is cut to
// what is left of the run, and the run still ends at its limit.
try { fazt.net.fetch("BASE/slow"); } catch {}
try { fazt.net.fetch("BASE/slow"); } catch {}
while (true) {}
