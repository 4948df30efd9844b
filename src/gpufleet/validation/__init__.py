"""Reproduction checks: gpufleet's models set against numbers other people published."""
