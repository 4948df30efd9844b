"""`python -m gpufleet.cli`: the same command as the `gpufleet` script."""

from gpufleet.cli import main

main()
