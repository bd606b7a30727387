// expect: timeout
({ get x() { while (true) {} } })
