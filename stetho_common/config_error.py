"""How every package says a configuration file is wrong: the file, then one line per problem."""

from __future__ import annotations

__all__ = ["InvalidConfig"]


class InvalidConfig(Exception):
    """Mixed into each package's own configuration error (its errors module keeps the root).

    Parameters
    ----------
    file : str
        The file (or flag, e.g. ``--broker``) whose values are wrong.
    problems : list of str
        One sentence per problem, each naming its key.
    """

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration in {file}:\n{lines}")
