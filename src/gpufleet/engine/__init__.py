"""Time and I/O: the discrete-event twin (simulated clock) and, later, the live loop."""
