"""Loads libLLVM 19 lazily and declares every C function the project calls.

``lib()`` returns the loaded library with every function's ``argtypes``/``restype``
set (the block at the end: the one place that declares the C API), or raises
:class:`LLVMNotFoundError` with instructions when libLLVM 19 is missing.
:func:`take_message` and :func:`take_buffer` copy LLVM-owned strings and buffers into
Python and free them. Only the ``llvm`` package touches ctypes.
"""

from __future__ import annotations

import ctypes
import os
import threading
from ctypes import POINTER, c_char_p, c_int, c_longlong, c_size_t, c_uint, c_ulonglong, c_void_p

from llmcompiler.errors import LLVMNotFoundError

LLVM_MAJOR = 19

INSTALL_HINT = (
    "install it with: apt-get update && apt-get install -y llvm-19 clang-19 "
    "(or set LLMC_LIBLLVM to the path of libLLVM.so.19)"
)

_CANDIDATES = (
    "/usr/lib/llvm-19/lib/libLLVM.so.1",
    "/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1",
    "/usr/lib/aarch64-linux-gnu/libLLVM.so.19.1",
    "/usr/lib/llvm-19/lib/libLLVM-19.so",
    "libLLVM.so.19.1",
    "libLLVM-19.so",
)

# Opaque handles are plain void pointers; ownership lives in binding.py and builder.py.
Ref = c_void_p
LLVMBool = c_int


def _candidates() -> list[str]:
    override = os.environ.get("LLMC_LIBLLVM")
    return [override] if override else list(_CANDIDATES)


_load_lock = threading.Lock()
_loaded: ctypes.CDLL | None = None


def lib() -> ctypes.CDLL:
    """Return libLLVM 19 with prototypes declared and every target it has initialized.

    Thread-safe; the library is loaded once per process.

    Raises:
        LLVMNotFoundError: no loadable libLLVM, or its major version is not 19.
    """
    global _loaded
    if _loaded is None:
        with _load_lock:
            if _loaded is None:
                _loaded = _load()
    return _loaded


def _load() -> ctypes.CDLL:
    tried = []
    handle = None
    for path in _candidates():
        try:
            handle = ctypes.CDLL(path)
            break
        except OSError as err:
            tried.append(f"{path} ({err})")
    if handle is None:
        raise LLVMNotFoundError(
            f"libLLVM {LLVM_MAJOR} not found; {INSTALL_HINT}. Tried: " + "; ".join(tried)
        )
    if not hasattr(handle, "LLVMGetVersion"):
        raise LLVMNotFoundError(f"the loaded libLLVM is too old; {INSTALL_HINT}")
    _declare(handle)
    major, minor, patch = c_uint(), c_uint(), c_uint()
    handle.LLVMGetVersion(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))
    if major.value != LLVM_MAJOR:
        raise LLVMNotFoundError(
            f"found libLLVM {major.value}.{minor.value}, llmcompiler needs LLVM {LLVM_MAJOR}; "
            + INSTALL_HINT
        )
    _initialize_targets(handle)
    _set_options(handle)
    return handle


def _set_options(handle: ctypes.CDLL) -> None:
    """Set the process-wide options llmcompiler's pipelines run with
    (:mod:`llmcompiler.llvm.options`)."""
    from llmcompiler.llvm.options import active

    args = [b"llmc", *(o.encode() for o in active())]
    if len(args) > 1:
        handle.LLVMParseCommandLineOptions(len(args), (c_char_p * len(args))(*args), None)


#: The back ends Debian's libLLVM 19 is built with (``llc-19 --version`` lists their
#: triples). The C headers' ``LLVMInitializeAllTargets`` is an inline function, not a
#: symbol in the library, so each target's functions are called by name.
TARGETS = [
    "AArch64",
    "AMDGPU",
    "ARM",
    "AVR",
    "BPF",
    "Hexagon",
    "Lanai",
    "LoongArch",
    "M68k",
    "MSP430",
    "Mips",
    "NVPTX",
    "PowerPC",
    "RISCV",
    "Sparc",
    "SystemZ",
    "VE",
    "WebAssembly",
    "X86",
    "XCore",
    "Xtensa",
]
_INIT_PARTS = ("TargetInfo", "Target", "TargetMC", "AsmPrinter", "AsmParser")


def _initialize_targets(handle: ctypes.CDLL) -> None:
    """Register every back end the library has (a target without an assembly parser,
    such as XCore, skips that part; one the build lacks is skipped)."""
    for target in TARGETS:
        for part in _INIT_PARTS:
            init = getattr(handle, f"LLVMInitialize{target}{part}", None)
            if init is not None:
                init.restype, init.argtypes = None, []
                init()


def version() -> tuple[int, int, int]:
    """Return libLLVM's (major, minor, patch). Raises LLVMNotFoundError."""
    major, minor, patch = c_uint(), c_uint(), c_uint()
    lib().LLVMGetVersion(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))
    return major.value, minor.value, patch.value


def take_message(ptr: int | None) -> str:
    """Copy an LLVM-allocated C string (``LLVMDisposeMessage`` owned) into Python and
    free it. Returns '' for NULL."""
    if not ptr:
        return ""
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        lib().LLVMDisposeMessage(ptr)


def take_buffer(buf: int) -> bytes:
    """Copy an LLVMMemoryBufferRef's bytes into Python and dispose the buffer."""
    L = lib()
    try:
        return ctypes.string_at(L.LLVMGetBufferStart(buf), L.LLVMGetBufferSize(buf))
    finally:
        L.LLVMDisposeMemoryBuffer(buf)


def _declare(h: ctypes.CDLL) -> None:
    def fn(name: str, restype, *argtypes) -> None:
        f = getattr(h, name)
        f.restype = restype
        f.argtypes = list(argtypes)

    # Support
    fn("LLVMGetVersion", None, POINTER(c_uint), POINTER(c_uint), POINTER(c_uint))
    fn("LLVMDisposeMessage", None, c_void_p)
    fn("LLVMGetDefaultTargetTriple", c_void_p)
    fn("LLVMNormalizeTargetTriple", c_void_p, c_char_p)
    fn("LLVMEnablePrettyStackTrace", None)

    # Contexts and memory buffers
    fn("LLVMContextCreate", Ref)
    fn("LLVMContextDispose", None, Ref)
    fn("LLVMCreateMemoryBufferWithMemoryRangeCopy", Ref, c_char_p, c_size_t, c_char_p)
    fn("LLVMGetBufferStart", c_void_p, Ref)
    fn("LLVMGetBufferSize", c_size_t, Ref)
    fn("LLVMDisposeMemoryBuffer", None, Ref)

    # Modules
    fn("LLVMParseCommandLineOptions", None, c_int, POINTER(c_char_p), c_char_p)
    fn("LLVMParseIRInContext", LLVMBool, Ref, Ref, POINTER(Ref), POINTER(c_void_p))
    fn("LLVMVerifyModule", LLVMBool, Ref, c_int, POINTER(c_void_p))
    fn("LLVMCloneModule", Ref, Ref)
    fn("LLVMDisposeModule", None, Ref)
    fn("LLVMPrintModuleToString", c_void_p, Ref)
    fn("LLVMWriteBitcodeToMemoryBuffer", Ref, Ref)
    fn("LLVMGetTarget", c_char_p, Ref)
    fn("LLVMSetTarget", None, Ref, c_char_p)
    fn("LLVMSetModuleIdentifier", None, Ref, c_char_p, c_size_t)
    fn("LLVMSetSourceFileName", None, Ref, c_char_p, c_size_t)
    fn("LLVMGetDataLayoutStr", c_char_p, Ref)
    fn("LLVMSetDataLayout", None, Ref, c_char_p)
    fn("LLVMGetModuleContext", Ref, Ref)

    # Values, types and uses
    fn("LLVMGetValueName2", c_char_p, Ref, POINTER(c_size_t))
    fn("LLVMTypeOf", Ref, Ref)
    fn("LLVMGetTypeKind", c_int, Ref)
    fn("LLVMGetIntTypeWidth", c_uint, Ref)
    fn("LLVMPrintTypeToString", c_void_p, Ref)
    fn("LLVMPrintValueToString", c_void_p, Ref)
    fn("LLVMGetValueKind", c_int, Ref)
    fn("LLVMIsConstant", LLVMBool, Ref)
    fn("LLVMConstIntGetSExtValue", c_longlong, Ref)
    fn("LLVMIntTypeInContext", Ref, Ref, c_uint)
    fn("LLVMConstInt", Ref, Ref, c_ulonglong, LLVMBool)
    fn("LLVMGetFirstUse", Ref, Ref)
    fn("LLVMGetNextUse", Ref, Ref)
    fn("LLVMGetUser", Ref, Ref)
    fn("LLVMReplaceAllUsesWith", None, Ref, Ref)

    # Functions, blocks and instructions
    fn("LLVMGetNamedFunction", Ref, Ref, c_char_p)
    fn("LLVMGetFirstFunction", Ref, Ref)
    fn("LLVMGetNextFunction", Ref, Ref)
    fn("LLVMIsDeclaration", LLVMBool, Ref)
    fn("LLVMGetNamedGlobal", Ref, Ref, c_char_p)
    fn("LLVMGetLinkage", c_int, Ref)
    fn("LLVMSetLinkage", None, Ref, c_int)
    fn("LLVMSetVisibility", None, Ref, c_int)
    fn("LLVMCountParams", c_uint, Ref)
    fn("LLVMGetParam", Ref, Ref, c_uint)
    fn("LLVMGetFirstBasicBlock", Ref, Ref)
    fn("LLVMGetNextBasicBlock", Ref, Ref)
    fn("LLVMGetEntryBasicBlock", Ref, Ref)
    fn("LLVMGetBasicBlockName", c_char_p, Ref)
    fn("LLVMBasicBlockAsValue", Ref, Ref)
    fn("LLVMGetBasicBlockTerminator", Ref, Ref)
    fn("LLVMGetFirstInstruction", Ref, Ref)
    fn("LLVMGetNextInstruction", Ref, Ref)
    fn("LLVMGetInstructionOpcode", c_int, Ref)
    fn("LLVMGetInstructionParent", Ref, Ref)
    fn("LLVMGetNumOperands", c_int, Ref)
    fn("LLVMGetOperand", Ref, Ref, c_uint)
    fn("LLVMCountIncoming", c_uint, Ref)
    fn("LLVMGetIncomingValue", Ref, Ref, c_uint)
    fn("LLVMGetIncomingBlock", Ref, Ref, c_uint)
    fn("LLVMIsATerminatorInst", Ref, Ref)
    fn("LLVMGetNumSuccessors", c_uint, Ref)
    fn("LLVMGetSuccessor", Ref, Ref, c_uint)
    fn("LLVMIsConditional", LLVMBool, Ref)
    fn("LLVMGetCondition", Ref, Ref)
    fn("LLVMGetICmpPredicate", c_int, Ref)
    fn("LLVMGetNSW", LLVMBool, Ref)
    fn("LLVMGetNUW", LLVMBool, Ref)
    fn("LLVMSetNSW", None, Ref, LLVMBool)
    fn("LLVMSetNUW", None, Ref, LLVMBool)
    fn("LLVMInstructionEraseFromParent", None, Ref)

    # Function attributes (index ~0U is the function itself)
    fn("LLVMGetEnumAttributeKindForName", c_uint, c_char_p, c_size_t)
    fn("LLVMCreateEnumAttribute", Ref, Ref, c_uint, c_ulonglong)
    fn("LLVMGetEnumAttributeAtIndex", Ref, Ref, c_uint, c_uint)
    fn("LLVMAddAttributeAtIndex", None, Ref, c_uint, Ref)
    fn("LLVMRemoveEnumAttributeAtIndex", None, Ref, c_uint, c_uint)

    # IRBuilder
    fn("LLVMCreateBuilderInContext", Ref, Ref)
    fn("LLVMDisposeBuilder", None, Ref)
    fn("LLVMPositionBuilderBefore", None, Ref, Ref)
    fn("LLVMPositionBuilderAtEnd", None, Ref, Ref)
    for cast in ("LLVMBuildTrunc", "LLVMBuildSExt", "LLVMBuildZExt"):
        fn(cast, Ref, Ref, Ref, Ref, c_char_p)
    fn("LLVMBuildBinOp", Ref, Ref, c_int, Ref, Ref, c_char_p)
    fn("LLVMBuildICmp", Ref, Ref, c_int, Ref, Ref, c_char_p)
    fn("LLVMBuildSelect", Ref, Ref, Ref, Ref, Ref, c_char_p)
    fn("LLVMBuildPhi", Ref, Ref, Ref, c_char_p)
    fn("LLVMAddIncoming", None, Ref, POINTER(Ref), POINTER(Ref), c_uint)

    # Targets and code generation
    fn("LLVMGetTargetFromTriple", LLVMBool, c_char_p, POINTER(Ref), POINTER(c_void_p))
    fn("LLVMCreateTargetMachine", Ref, Ref, c_char_p, c_char_p, c_char_p, c_int, c_int, c_int)
    fn("LLVMDisposeTargetMachine", None, Ref)
    fn("LLVMCreateTargetDataLayout", Ref, Ref)
    fn("LLVMCopyStringRepOfTargetData", c_void_p, Ref)
    fn("LLVMDisposeTargetData", None, Ref)
    fn(
        "LLVMTargetMachineEmitToMemoryBuffer",
        LLVMBool,
        Ref,
        Ref,
        c_int,
        POINTER(c_void_p),
        POINTER(Ref),
    )

    # New pass manager
    fn("LLVMCreatePassBuilderOptions", Ref)
    fn("LLVMDisposePassBuilderOptions", None, Ref)
    fn("LLVMPassBuilderOptionsSetVerifyEach", None, Ref, LLVMBool)
    fn("LLVMRunPasses", Ref, Ref, c_char_p, Ref, Ref)
    fn("LLVMGetErrorMessage", c_void_p, Ref)
    fn("LLVMDisposeErrorMessage", None, c_void_p)
