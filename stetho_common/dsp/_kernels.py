"""SciPy's compiled signal kernels, loaded without running ``scipy/signal/__init__.py``.

Importing ``scipy.signal`` imports scipy.stats, interpolate, spatial, optimize and linalg too:
about 48 MiB of resident memory on top of NumPy, scipy.fft and scipy.ndimage (measured on the
agent with three stethoscopes, issue 13). We use five of its functions, whose hot loops are
three small Cython modules that import NumPy only. Loading those files directly keeps the
arithmetic byte for byte the same while leaving the rest of scipy.signal unloaded.

Each kernel is registered in ``sys.modules`` under its own name, so a later ``import
scipy.signal`` (tests, the evaluation bench) finds and reuses it: a Cython module may not be
initialised twice in one process.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import scipy

__all__ = ["peak_finding", "sosfilt", "upfirdn"]


def _load(name: str) -> ModuleType:
    full_name = f"scipy.signal.{name}"
    loaded = sys.modules.get(full_name)
    if loaded is not None:
        return loaded
    folder = str(Path(scipy.__file__).parent / "signal")
    found = importlib.machinery.PathFinder.find_spec(name, [folder])
    if found is None or found.origin is None:
        raise ImportError(f"SciPy {scipy.__version__} has no compiled {full_name} in {folder}")
    spec = importlib.util.spec_from_file_location(full_name, found.origin)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {found.origin}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[full_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[full_name]
        raise
    return module


sosfilt = _load("_sosfilt")
upfirdn = _load("_upfirdn_apply")
peak_finding = _load("_peak_finding_utils")
