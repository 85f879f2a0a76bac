"""Loading programs: C/C++ sources, textual IR and bitcode become :class:`Program` values.

A Program holds verified bitcode and a content hash. The hash ignores the
module's name, so the same code loaded from two paths shares cached results.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from llmcompiler.errors import InputError, InvalidIRError
from llmcompiler.llvm import Module, TargetMachine, default_triple
from llmcompiler.llvm.target import WASM, target
from llmcompiler.llvm.toolchain import compile_source

C_SUFFIXES = (".c",)
CXX_SUFFIXES = (".cc", ".cpp", ".cxx", ".C")
IR_SUFFIXES = (".ll", ".bc")
SUPPORTED = C_SUFFIXES + CXX_SUFFIXES + IR_SUFFIXES
T = TypeVar("T")
#: how bitcode starts: raw, or in the wrapper Apple's tools write
BITCODE_MAGIC = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
#: clang's name on WebAssembly for ``main(int argc, char **argv)`` (``main(void)`` stays
#: ``main``); the C runtime's ``_start`` calls either
WASM_MAIN = "__main_argc_argv"


@dataclass(frozen=True)
class Program:
    """A verified LLVM module ready for evaluation.

    Attributes:
        name: display name, usually the path it was loaded from.
        bitcode: the module as bitcode (module name set to the file's basename).
        hash: sha256 hex digest of the module's content, independent of its name.
        has_main: whether the module defines ``main`` (on WebAssembly also
            ``__main_argc_argv``, clang's name there for ``main(int argc, char **argv)``).
        source: path of the file it came from, if any.
        triple: the module's target triple (the host's when the IR named none).
        odr_share: the share of its IR instructions in ``linkonce_odr`` and
            ``weak_odr`` functions (C++ templates and inline functions; see
            :meth:`llmcompiler.llvm.Module.odr_share`).
    """

    name: str
    bitcode: bytes = field(repr=False)
    hash: str
    has_main: bool
    source: str | None = None
    triple: str = ""
    odr_share: float = 0.0

    @property
    def short_hash(self) -> str:
        return self.hash[:12]


def program_from_ir(data: bytes, name: str, source: str | None = None) -> Program:
    """Build a Program from textual IR or bitcode.

    Modules without a target triple get the host's default triple; modules
    without a data layout get the target's, as opt-19 and llc-19 do.

    Raises:
        InvalidIRError: the IR does not parse or does not verify.
    """
    # LLVM takes names as UTF-8: a file name holding undecodable bytes is shown with U+FFFD
    name_for_llvm = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    with Module.parse(data, name_for_llvm) as module:
        try:
            module.verify()
        except InvalidIRError as err:
            raise InvalidIRError(f"{name}: {err}") from None
        if not module.triple:
            module.triple = default_triple()
        if not module.data_layout:
            with TargetMachine(module.triple) as tm:
                module.data_layout = tm.data_layout()
        module.set_name("")
        digest = hashlib.sha256(module.to_bitcode()).hexdigest()
        module.set_name(os.path.basename(name_for_llvm))
        bitcode = module.to_bitcode()
        triple = module.triple
        has_main = module.has_definition("main") or (
            module.has_definition(WASM_MAIN) and target(triple).object_format == WASM
        )
        odr_share = module.odr_share()
    return Program(name, bitcode, digest, has_main, source, triple, odr_share)


def load_program(
    path: str | os.PathLike,
    include_dirs: Sequence[str] = (),
    defines: Sequence[str] = (),
    flags: Sequence[str] = (),
) -> Program:
    """Load a .c/.cc/.cpp source (compiled by clang-19) or a .ll/.bc module.

    ``flags`` go to clang-19 after the others (``--target=``, ``-mcpu=``...); a .ll/.bc
    module keeps its own triple and takes none of them.

    Raises:
        InputError: a missing, unreadable, empty or non-regular file (a directory, a
            device such as /dev/zero, a FIFO), an unsupported suffix, or binary data in
            a .ll file.
        CompileError: clang rejected the source (message holds its diagnostics).
        InvalidIRError: the IR does not parse or verify.
    """
    p = Path(path)
    name = os.fspath(path)
    if p.suffix in IR_SUFFIXES:
        data = read_file(name)
        if not data:
            raise InputError(f"{name}: empty file")
        if p.suffix == ".ll" and b"\0" in data and not data.startswith(BITCODE_MAGIC):
            raise InputError(f"{name}: binary data, not LLVM IR text")
        return program_from_ir(data, name, source=name)
    size = _regular_file(name, _checked(name, os.stat))  # clang reads it: check it first
    if p.suffix not in SUPPORTED:
        raise InputError(
            f"{name}: unsupported file type '{p.suffix}' (expected one of {', '.join(SUPPORTED)})"
        )
    if size == 0:
        raise InputError(f"{name}: empty file")
    return program_from_ir(compile_source(p, include_dirs, defines, flags), name, source=name)


def read_file(path: str | os.PathLike) -> bytes:
    """Return the bytes of a regular file: never blocks on a FIFO, never reads a device.

    Raises:
        InputError: the file is missing, unreadable or not a regular file.
    """
    name = os.fspath(path)
    fd = _checked(name, lambda n: os.open(n, os.O_RDONLY | os.O_NONBLOCK))  # FIFOs: no wait
    try:
        _regular_file(name, os.fstat(fd))
    except InputError:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        try:
            return f.read()
        except OSError as err:
            raise InputError(f"{name}: {err.strerror}") from None


def _checked(name: str, call: Callable[[str], T]) -> T:
    """``call(name)`` (a stat or an open), its OSError raised as an InputError."""
    try:
        return call(name)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as err:
        raise InputError(f"{name}: {err.strerror or err}") from None


def _regular_file(name: str, st: os.stat_result) -> int:
    """The size of the file ``st`` describes. Raises InputError unless it is a regular file."""
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{name}: is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{name}: not a regular file")
    return st.st_size


def load_programs(
    paths: Sequence[str],
    include_dirs: Sequence[str] = (),
    defines: Sequence[str] = (),
    jobs: int = 1,
    flags: Sequence[str] = (),
):
    """Load many files, compiling sources ``jobs`` at a time (``flags``: as for
    :func:`load_program`).

    Yields ``(path, Program | LLMCError)`` in input order: a bad file yields its
    error instead of stopping the rest.
    """
    from concurrent.futures import ThreadPoolExecutor

    from llmcompiler.errors import LLMCError, LLVMNotFoundError

    def one(path: str):
        try:
            return load_program(path, include_dirs, defines, flags)
        except LLVMNotFoundError:
            raise  # not this file's fault: nothing can go on
        except LLMCError as err:
            return err

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        yield from zip(paths, pool.map(one, paths))
