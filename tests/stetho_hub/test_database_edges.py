"""The hub's database connection, direct: where it is said to live, what a transaction
commits or rolls back, what each failure is told as.

SQLite files are real. The PostgreSQL half runs against one real server for the file
(`postgres_server`), even under `make mutate`: only the PostgreSQL code calls it, so only its
mutants pay the server's start (about 3 s a run).
"""

from __future__ import annotations

import pytest

from stetho_hub.storage.database import DatabaseTarget


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("postgresql://hub:secret@db.example:5432/hub", "postgresql://hub:***@db.example:5432/hub"),
        ("postgresql://hub:se:cr:et@db/hub", "postgresql://hub:***@db/hub"),  # colons in it
        ("postgres://hub@db/hub", "postgres://hub@db/hub"),  # no password: nothing hidden
        ("postgresql://db.example:5432/hub", "postgresql://db.example:5432/hub"),
        ("postgresql:///hub?host=/run/pg", "postgresql:///hub?host=/run/pg"),
        ("postgresql://db/hub?user=hub&password=secret", "postgresql://db/hub?user=hub&password=***"),
        ("postgresql://db/hub?password=secret&sslmode=require",
         "postgresql://db/hub?password=***&sslmode=require"),
        ("host=db user=hub password=secret dbname=hub", "host=db user=hub password=*** dbname=hub"),
        ("host=db password = 'se cret' dbname=hub", "host=db password = *** dbname=hub"),
        ("host=db password='it\\'s' dbname=hub", "host=db password=*** dbname=hub"),
        ("host=db sslpassword=keypass dbname=hub", "host=db sslpassword=*** dbname=hub"),
        ("host=db dbname=hub", "host=db dbname=hub"),
    ],
)  # fmt: skip
def test_a_postgresql_location_is_described_without_its_password(location: str, shown: str) -> None:
    assert DatabaseTarget("postgresql", location).describe() == f"postgresql:{shown}"


def test_a_sqlite_location_is_its_path() -> None:
    assert DatabaseTarget("sqlite", "/var/lib/stetho-hub/hub.db").describe() == (
        "sqlite:/var/lib/stetho-hub/hub.db"
    )
