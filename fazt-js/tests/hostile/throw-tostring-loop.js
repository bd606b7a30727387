// expect: uncaught [object]
throw { toString() { while (true) {} } }
