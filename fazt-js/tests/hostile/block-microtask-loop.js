// expect: timeout
function again() { queueMicrotask(again); } again(); 1
