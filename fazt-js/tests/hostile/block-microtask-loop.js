// expect: value 1
function again() { queueMicrotask(again); } again(); 1
