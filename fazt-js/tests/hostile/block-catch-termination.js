// expect: timeout
try { while (true) {} } catch (e) {}
while (true) {}
