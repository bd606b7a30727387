// expect: result
({ get x() { throw new Error("getter"); } })
