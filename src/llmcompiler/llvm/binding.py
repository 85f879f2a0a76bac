"""Owned handles over libLLVM 19: contexts, modules and target machines.

Every handle is a small class with ``close()``, context-manager support and a
``__del__`` that is safe at interpreter shutdown. LLVM strings are copied into
Python and freed in ``finally`` blocks; LLVM errors become
:mod:`llmcompiler.errors` exceptions carrying LLVM's own text.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Collection
from ctypes import c_size_t, c_void_p
from typing import Self

from llmcompiler.errors import EvaluationError, InvalidIRError, PipelineError
from llmcompiler.llvm._ffi import lib, take_buffer, take_message
from llmcompiler.llvm.codegen import RELOC_MODES, relocation_model

# LLVMVerifierFailureAction / LLVMCodeGenFileType / LLVMCodeGenOptLevel values.
_RETURN_STATUS = 2
_ASSEMBLY_FILE, _OBJECT_FILE = 0, 1
OPT_LEVELS = {"O0": 0, "O1": 1, "O2": 2, "O3": 3}
_CODE_MODEL_DEFAULT = 0


def one_line(text: str, limit: int = 400) -> str:
    """Fold a multi-line LLVM diagnostic into one line: the first line, then the
    context lines in parentheses, cut at ``limit`` characters."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and ln.strip() != "^"]
    if not lines:
        return ""
    folded = lines[0] + (f" ({'; '.join(lines[1:])})" if len(lines) > 1 else "")
    return folded if len(folded) <= limit else folded[: limit - 3] + "..."


def default_triple() -> str:
    """Return the host's default target triple, e.g. 'x86_64-pc-linux-gnu'."""
    return take_message(lib().LLVMGetDefaultTargetTriple())


def enable_crash_traces() -> None:
    """Make a crash inside LLVM print a stack trace naming the pass that was running
    (once per process: an evaluation worker calls it at start).

    Raises:
        LLVMNotFoundError: libLLVM 19 is missing.
    """
    lib().LLVMEnablePrettyStackTrace()


_FUNCTION_INDEX = 0xFFFFFFFF  # LLVMAttributeFunctionIndex
_INTERNAL_LINKAGE = 8  # LLVMInternalLinkage
_ODR_LINKAGES = (3, 6)  # LLVMLinkOnceODRLinkage, LLVMWeakODRLinkage
_DEFAULT_VISIBILITY = 0  # LLVMDefaultVisibility


def _value_name(value: int) -> str:
    size = c_size_t()
    raw = lib().LLVMGetValueName2(value, ctypes.byref(size))
    return ctypes.string_at(raw, size.value).decode("utf-8", "replace")


def _instructions_in(fn: int) -> int:
    """The number of instructions in one function's blocks."""
    L = lib()
    next_bb, first_i, next_i = (
        L.LLVMGetNextBasicBlock,
        L.LLVMGetFirstInstruction,
        L.LLVMGetNextInstruction,
    )
    count, bb = 0, L.LLVMGetFirstBasicBlock(fn)
    while bb:
        inst = first_i(bb)
        while inst:
            count += 1
            inst = next_i(inst)
        bb = next_bb(bb)
    return count


class Handle:
    """Base for an owned LLVM pointer, disposed exactly once: ``close()``, a context
    manager, and a ``__del__`` that is safe at interpreter shutdown. A subclass sets
    ``_ptr`` and defines ``_dispose``."""

    _ptr: int | None = None

    def _dispose(self, ptr: int) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def ptr(self) -> int:
        if not self._ptr:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._ptr

    def close(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr:
            self._dispose(ptr)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: the library may be gone
            self.close()


class Context(Handle):
    """An LLVMContext. Modules parsed into it must be closed before it."""

    def __init__(self) -> None:
        self._ptr = lib().LLVMContextCreate()

    def _dispose(self, ptr: int) -> None:
        lib().LLVMContextDispose(ptr)


class Module(Handle):
    """An owned LLVM module. Keeps its Context alive while the module lives."""

    def __init__(self, ptr: int, context: Context) -> None:
        self._ptr = ptr
        self.context = context

    def _dispose(self, ptr: int) -> None:
        # Disposing a context frees the modules it still owns. The garbage collector
        # may finalize a context before its module (both in one reference cycle):
        # then the module is already gone and must not be freed twice.
        if self.context._ptr:
            lib().LLVMDisposeModule(ptr)

    @classmethod
    def parse(cls, data: bytes, name: str = "module", context: Context | None = None) -> Module:
        """Parse textual IR or bitcode (detected by magic). Does not verify.

        Raises:
            InvalidIRError: the parser rejected the input; the message is LLVM's.
        """
        L = lib()
        context = context or Context()
        buf = L.LLVMCreateMemoryBufferWithMemoryRangeCopy(data, len(data), name.encode())
        out, err = c_void_p(), c_void_p()
        # LLVMParseIRInContext takes ownership of buf, success or not.
        failed = L.LLVMParseIRInContext(context.ptr, buf, ctypes.byref(out), ctypes.byref(err))
        if failed:
            message = one_line(take_message(err.value))
            # LLVM names the buffer itself ("name:1:1: error: ..."); add it when it does not.
            raise InvalidIRError(message if message.startswith(name) else f"{name}: {message}")
        return cls(out.value, context)

    def verify(self) -> None:
        """Run the IR verifier.

        Raises:
            InvalidIRError: with the verifier's message.
        """
        msg = c_void_p()
        broken = lib().LLVMVerifyModule(self.ptr, _RETURN_STATUS, ctypes.byref(msg))
        text = one_line(take_message(msg.value))
        if broken:
            raise InvalidIRError(f"IR verification failed: {text}")

    def clone(self) -> Module:
        """Return a deep copy in the same context."""
        return Module(lib().LLVMCloneModule(self.ptr), self.context)

    def run_passes(self, pipeline: str, target: TargetMachine | None = None) -> None:
        """Run a new-pass-manager pipeline string on this module, in place.

        Raises:
            PipelineError: LLVM rejected the pipeline text (its message verbatim).
        """
        L = lib()
        options = L.LLVMCreatePassBuilderOptions()
        try:
            err = L.LLVMRunPasses(
                self.ptr, pipeline.encode(), target.ptr if target else None, options
            )
        finally:
            L.LLVMDisposePassBuilderOptions(options)
        if err:
            msg = L.LLVMGetErrorMessage(err)
            try:
                text = ctypes.string_at(msg).decode("utf-8", "replace")
            finally:
                L.LLVMDisposeErrorMessage(msg)
            raise PipelineError(text.strip())

    def instruction_count(self) -> int:
        """Return the number of IR instructions in all defined functions."""
        L = lib()
        count, fn = 0, L.LLVMGetFirstFunction(self.ptr)
        while fn:
            count += _instructions_in(fn)  # 0 for a declaration: it has no blocks
            fn = L.LLVMGetNextFunction(fn)
        return count

    def function_instruction_counts(self) -> dict[str, int]:
        """Return {name: IR instruction count} for every defined function (their sum is
        :meth:`instruction_count`)."""
        L = lib()
        counts: dict[str, int] = {}
        fn = L.LLVMGetFirstFunction(self.ptr)
        while fn:
            if not L.LLVMIsDeclaration(fn):
                counts[_value_name(fn)] = _instructions_in(fn)
            fn = L.LLVMGetNextFunction(fn)
        return counts

    def run_passes_on(
        self, names: Collection[str], pipeline: str, target: TargetMachine | None = None
    ) -> None:
        """Run a function-level pipeline on the defined functions named in ``names`` only.

        Every other defined function is marked ``optnone noinline`` while the pipeline
        runs (the pass manager skips optnone functions, loops included) and restored
        after: only the attributes added here are removed.

        Raises:
            PipelineError: LLVM rejected the pipeline text (its message verbatim).
        """
        L = lib()
        kinds = [L.LLVMGetEnumAttributeKindForName(a, len(a)) for a in (b"optnone", b"noinline")]
        added: list[tuple[int, int]] = []
        fn = L.LLVMGetFirstFunction(self.ptr)
        try:
            while fn:
                if not L.LLVMIsDeclaration(fn) and _value_name(fn) not in names:
                    for kind in kinds:
                        if not L.LLVMGetEnumAttributeAtIndex(fn, _FUNCTION_INDEX, kind):
                            attr = L.LLVMCreateEnumAttribute(self.context.ptr, kind, 0)
                            L.LLVMAddAttributeAtIndex(fn, _FUNCTION_INDEX, attr)
                            added.append((fn, kind))
                fn = L.LLVMGetNextFunction(fn)
            self.run_passes(pipeline, target)
        finally:
            for fn, kind in added:
                L.LLVMRemoveEnumAttributeAtIndex(fn, _FUNCTION_INDEX, kind)

    def odr_share(self) -> float:
        """Return the share of the IR instructions of defined functions that are in
        ``linkonce_odr`` or ``weak_odr`` ones (templates and inline functions of C++):
        0.0 for a module without instructions."""
        L = lib()
        defined: list[tuple[int, bool]] = []
        fn = L.LLVMGetFirstFunction(self.ptr)
        while fn:
            if not L.LLVMIsDeclaration(fn):
                defined.append((fn, L.LLVMGetLinkage(fn) in _ODR_LINKAGES))
            fn = L.LLVMGetNextFunction(fn)
        if not any(odr for _, odr in defined):
            return 0.0  # C, and most modules: no instruction needs counting
        counts = [(_instructions_in(fn), odr) for fn, odr in defined]
        total = sum(n for n, _ in counts)
        return sum(n for n, odr in counts if odr) / total if total else 0.0

    def has_definition(self, name: str) -> bool:
        """Return True if the module defines (not just declares) function ``name``."""
        L = lib()
        fn = L.LLVMGetNamedFunction(self.ptr, name.encode())
        return bool(fn) and not L.LLVMIsDeclaration(fn)

    def localize(self, names: Collection[str]) -> None:
        """Give the defined functions and global variables named in ``names`` internal
        linkage (and default visibility, which local linkage requires); other names
        are left as they are."""
        L = lib()
        for name in names:
            raw = name.encode()
            value = L.LLVMGetNamedFunction(self.ptr, raw) or L.LLVMGetNamedGlobal(self.ptr, raw)
            if value and not L.LLVMIsDeclaration(value):
                L.LLVMSetVisibility(value, _DEFAULT_VISIBILITY)
                L.LLVMSetLinkage(value, _INTERNAL_LINKAGE)

    def to_text(self) -> str:
        """Return the module as textual IR."""
        return take_message(lib().LLVMPrintModuleToString(self.ptr))

    def to_bitcode(self) -> bytes:
        """Return the module as bitcode bytes."""
        return take_buffer(lib().LLVMWriteBitcodeToMemoryBuffer(self.ptr))

    @property
    def triple(self) -> str:
        return (lib().LLVMGetTarget(self.ptr) or b"").decode()

    @triple.setter
    def triple(self, value: str) -> None:
        lib().LLVMSetTarget(self.ptr, value.encode())

    @property
    def data_layout(self) -> str:
        return (lib().LLVMGetDataLayoutStr(self.ptr) or b"").decode()

    @data_layout.setter
    def data_layout(self, value: str) -> None:
        lib().LLVMSetDataLayout(self.ptr, value.encode())

    def set_name(self, name: str) -> None:
        """Set both the module identifier and ``source_filename``."""
        raw = name.encode()
        lib().LLVMSetModuleIdentifier(self.ptr, raw, len(raw))
        lib().LLVMSetSourceFileName(self.ptr, raw, len(raw))


class TargetMachine(Handle):
    """A target machine for any triple the library has, with fixed code generation
    settings.

    Defaults equal the reference ``llc-19`` run's (:func:`llmcompiler.llvm.toolchain.
    llc_args`): CPU and features from the functions' attributes (else the triple's
    generic CPU), codegen level O2, the relocation model clang-19 uses for the triple
    (:mod:`llmcompiler.llvm.codegen`), default code model.
    """

    def __init__(self, triple: str, cpu: str = "", features: str = "", opt_level: str = "O2"):
        L = lib()
        target, err = c_void_p(), c_void_p()
        if L.LLVMGetTargetFromTriple(triple.encode(), ctypes.byref(target), ctypes.byref(err)):
            raise EvaluationError(
                f"unsupported target triple {triple!r}: {take_message(err.value)}"
            )
        if opt_level not in OPT_LEVELS:
            raise ValueError(f"opt_level must be one of {sorted(OPT_LEVELS)}")
        self.triple, self.cpu, self.features, self.opt_level = triple, cpu, features, opt_level
        self._ptr = L.LLVMCreateTargetMachine(
            target.value,
            triple.encode(),
            cpu.encode(),
            features.encode(),
            OPT_LEVELS[opt_level],
            RELOC_MODES[relocation_model(triple)],
            _CODE_MODEL_DEFAULT,
        )

    def _dispose(self, ptr: int) -> None:
        lib().LLVMDisposeTargetMachine(ptr)

    def data_layout(self) -> str:
        """Return the target's data layout string (what opt-19 gives IR that has none)."""
        L = lib()
        layout = L.LLVMCreateTargetDataLayout(self.ptr)
        try:
            return take_message(L.LLVMCopyStringRepOfTargetData(layout))
        finally:
            L.LLVMDisposeTargetData(layout)

    def _emit(self, module: Module, kind: int) -> bytes:
        L = lib()
        err, buf = c_void_p(), c_void_p()
        if L.LLVMTargetMachineEmitToMemoryBuffer(
            self.ptr, module.ptr, kind, ctypes.byref(err), ctypes.byref(buf)
        ):
            raise EvaluationError(f"code generation failed: {take_message(err.value)}")
        return take_buffer(buf.value)

    def emit_object(self, module: Module) -> bytes:
        """Return the object file (ELF, Mach-O, COFF or WebAssembly, as the triple says).
        Code generation mutates ``module``: pass a clone."""
        return self._emit(module, _OBJECT_FILE)

    def emit_assembly(self, module: Module) -> bytes:
        """Return assembly text as bytes (AT&T syntax on x86). Mutates ``module``: pass a
        clone."""
        return self._emit(module, _ASSEMBLY_FILE)
