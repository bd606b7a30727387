// expect: result
({ toJSON() { throw new Error("toJSON"); } })
