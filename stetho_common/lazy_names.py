"""A package's names imported on first use (PEP 562): `import package` costs nothing until a
name is read, so a command that needs one light name does not load SciPy behind the others.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_getattr(package: str, homes: Mapping[str, tuple[str, ...]]) -> Callable[[str], object]:
    """The module `__getattr__` of `package`: each name of `homes[module]` is imported from
    `module` when first read, then kept on the package; any other name is an AttributeError."""
    home_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> object:
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # looked up once
        return value

    return __getattr__
