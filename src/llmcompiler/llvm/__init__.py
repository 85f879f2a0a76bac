"""The LLVM layer: ctypes binding to libLLVM 19 and the reference toolchain.

The names below are imported from their modules when first used (PEP 562), so a
command that only runs the tools (``llmc cc`` passing a configure probe to clang)
does not load the binding.
"""

from __future__ import annotations

import importlib

#: each exported name and the module of this package that defines it
_EXPORTS = {
    "LLVM_MAJOR": "_ffi",
    "version": "_ffi",
    "Context": "binding",
    "Module": "binding",
    "TargetMachine": "binding",
    "default_triple": "binding",
    "enable_crash_traces": "binding",
    "BerkeleySize": "objsize",
    "berkeley_size": "objsize",
    "function_sizes": "objsize",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
