"""`python -m stetho_cli` is the `stetho` command."""

from stetho_cli import main

main()
