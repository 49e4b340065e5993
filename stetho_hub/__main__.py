"""`python -m stetho_hub` runs the `stetho hub` commands (the lead mounts them under `stetho`)."""

from stetho_hub.cli import main

main()
