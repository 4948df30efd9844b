"""Reproduction checks: gpufleet's replays against published results, as rows to print."""
