"""`python -m stetho_hub.fhir build FILE` or `... send --queue Q --base-url URL`: the FHIR tools
run alone (`-m stetho_hub.fhir.cli` works too, but runpy warns: the package imports `cli`)."""

from stetho_hub.fhir.cli import app

app(prog_name="python -m stetho_hub.fhir")
