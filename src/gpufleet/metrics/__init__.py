"""What happened, as numbers: pure functions of a run's record."""
