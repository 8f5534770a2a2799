"""Modules a command's libraries import but the command never uses, imported only when used.

scikit-learn imports `scipy.stats` as it starts (`sklearn.utils.fixes`, for one helper), and
importing SciPy's statistics takes about 0.3 s of CPU (it parses hundreds of docstrings); scoring a
page never touches them. `defer_imports("scipy.stats")` puts a stand-in for the module in
`sys.modules`, so `import scipy.stats` and `from scipy import stats` bind the stand-in without
running the module. The first attribute read from the stand-in imports the real module (which then
replaces it in `sys.modules`) and answers from it: a path that does use the module works as
before and pays for it then.

(The standard library's `importlib.util.LazyLoader` was tried and does not do here: its module
runs on the first attribute read of any kind, and the imports scikit-learn makes as it starts read
some, so SciPy's statistics ran at once.)

Only the commands that gain from it call this (`hypewatch check`); it must run before the first
import of the deferred modules, and is a no-op for a module already imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class _Deferred(types.ModuleType):
    """A stand-in for a module that imports the real one on first use."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(_real(self.__name__), attr)

    def __dir__(self) -> list[str]:
        return dir(_real(self.__name__))


def _real(name: str) -> types.ModuleType:
    if isinstance(sys.modules.get(name), _Deferred):
        del sys.modules[name]
    return importlib.import_module(name)


def defer_imports(*names: str) -> None:
    """Defer each of the `names` (full dotted module names) not yet imported until it is used."""
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)  # imports the parent package, not the module
        if spec is None:
            continue
        stand_in = _Deferred(name)
        stand_in.__spec__ = spec
        sys.modules[name] = stand_in
