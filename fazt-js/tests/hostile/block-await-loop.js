// expect: timeout
(async () => { while (true) await null; })()
