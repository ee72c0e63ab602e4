"""`python -m petset.cli`: the same as the `petset` console script."""

from petset.cli.main import main

main()
