// expect: timeout
try { while (true) {} } finally { while (true) {} }
