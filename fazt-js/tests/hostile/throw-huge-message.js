// expect: uncaught [truncated]
throw new Error("x".repeat(4 << 20))
