"""The LLVM layer: ctypes binding to libLLVM 19 and the reference toolchain."""

from llmcompiler.llvm._ffi import LLVM_MAJOR, version
from llmcompiler.llvm.binding import (
    Context,
    Module,
    TargetMachine,
    default_triple,
    enable_crash_traces,
)
from llmcompiler.llvm.objsize import BerkeleySize, berkeley_size

__all__ = [
    "LLVM_MAJOR",
    "version",
    "Context",
    "Module",
    "TargetMachine",
    "default_triple",
    "enable_crash_traces",
    "BerkeleySize",
    "berkeley_size",
]
