"""Packages that re-export their modules' names without importing them up front.

``cimhouse codes validate`` needs ``cimhouse.coding.house_code`` and
``cimhouse.schema.vocab``, not SQLAlchemy; importing those modules runs their package's
``__init__``, which used to import every model and use case. :func:`lazy_exports` keeps the
package API (``from cimhouse.coding import assign_codes`` gives the function) while importing
each module on first use. A package lists its names in a ``TYPE_CHECKING`` block too, so that
mypy sees the real types.

Example (the end of a package ``__init__``)::

    lazy_exports(__name__, {"assign_codes": "cimhouse.coding.assign_codes"})
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str],
                 on_first_use: Callable[[], None] | None = None) -> None:
    """Make ``package.<name>`` import ``exports[name]`` (a module path) when first read.

    A name that is also a submodule stays the re-exported object after the submodule is
    imported (``cimhouse.coding.assign_codes`` is the function, as before). ``on_first_use``
    runs before the first name is resolved (``cimhouse.schema`` loads every model then).
    """
    module = sys.modules[package]
    done: list[bool] = []

    def resolve(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if on_first_use is not None and not done:
            done.append(True)
            on_first_use()
        value = getattr(importlib.import_module(exports[name]), name)
        types.ModuleType.__setattr__(module, name, value)
        return value

    class LazyPackage(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            return resolve(name)

        def __setattr__(self, name: str, value: Any) -> None:
            # the import system binds a submodule to its package attribute; a re-exported
            # name of the same spelling keeps the object it names
            if name in exports and isinstance(value, types.ModuleType) and hasattr(value, name):
                value = getattr(value, name)
            types.ModuleType.__setattr__(self, name, value)

    module.__class__ = LazyPackage
