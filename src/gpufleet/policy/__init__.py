"""What to do: queue orderings and placements, pure functions registered by name."""
