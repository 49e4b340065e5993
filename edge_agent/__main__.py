"""`python -m edge_agent` is the same as the `stetho` command."""

from edge_agent.cli import main

main()
