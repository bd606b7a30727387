// expect: uncaught
JSON.parse("[".repeat(1000000) + "]".repeat(1000000))
