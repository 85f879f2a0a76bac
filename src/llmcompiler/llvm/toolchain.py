"""The reference LLVM 19 command-line tools: clang-19, opt-19, llc-19, llvm-size-19.

The in-process binding is fast; these tools are the ground truth it is tested
against, the front end for C/C++ sources, and the exact path for final size
numbers (see :func:`llc_object`).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Sequence

from llmcompiler.errors import CompileError, EvaluationError, LLVMNotFoundError, PipelineError
from llmcompiler.llvm import options
from llmcompiler.llvm._ffi import INSTALL_HINT, LLVM_MAJOR
from llmcompiler.llvm.codegen import relocation_args

#: opt's complaint about one of llmcompiler's own steps: they are all named ``llmc-*``.
_OWN_STEP = re.compile(r"(?:unknown \w+ pass|unknown pipeline name) '(llmc-[^'<]*)")

#: Flags that give realistic size-tuning input: functions keep minsize/optsize,
#: no LLVM pass runs (DESIGN.md).
FRONTEND_FLAGS = ("-Oz", "-Xclang", "-disable-llvm-passes", "-emit-llvm")


@functools.cache
def tool(name: str) -> str:
    """Return the path of an LLVM 19 tool such as 'opt' or 'clang'.

    Raises:
        LLVMNotFoundError: the tool is not installed.
    """
    for candidate in (f"{name}-{LLVM_MAJOR}", f"/usr/lib/llvm-{LLVM_MAJOR}/bin/{name}"):
        path = shutil.which(candidate)
        if path:
            return path
    raise LLVMNotFoundError(f"{name}-{LLVM_MAJOR} not found; {INSTALL_HINT}")


def _run(argv: Sequence[str], data: bytes | None = None, timeout: float | None = 300):
    return subprocess.run(list(argv), input=data, capture_output=True, timeout=timeout)


def file_arg(path: str | os.PathLike) -> str:
    """Return ``path`` as a command-line argument no tool can take for an option: an
    absolute path as it is, a relative one behind ``./`` (a file named ``-o.c`` or
    ``--config=x`` stays a file)."""
    path = os.fspath(path)
    return path if os.path.isabs(path) else os.path.join(".", path)


def compile_source(
    path: str | os.PathLike,
    include_dirs: Sequence[str] = (),
    defines: Sequence[str] = (),
    extra_flags: Sequence[str] = (),
    timeout: float = 300,
) -> bytes:
    """Compile a C or C++ file to unoptimized-but-Oz-annotated bitcode.

    ``defines`` are ``NAME`` or ``NAME=VALUE``. Returns bitcode bytes.

    Raises:
        CompileError: with clang's diagnostics.
    """
    path = os.fspath(path)
    cxx = path.endswith((".cc", ".cpp", ".cxx", ".C"))
    argv = [tool("clang++" if cxx else "clang"), *FRONTEND_FLAGS, "-c", "-o", "-"]
    argv += [f"-I{d}" for d in include_dirs] + [f"-D{d}" for d in defines] + list(extra_flags)
    # not "--": clang's driver takes what follows it for files, but hands it on to cc1 bare
    argv.append(file_arg(path))
    try:
        proc = _run(argv, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CompileError(f"{path}: compilation timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        diagnostics = proc.stderr.decode("utf-8", "replace").strip()
        raise CompileError(f"{path}: compilation failed:\n{diagnostics}")
    return proc.stdout


def opt(
    ir: bytes,
    pipeline: str,
    text: bool = True,
    timeout: float | None = 300,
    triple: str | None = None,
) -> bytes:
    """Run ``opt-19 -passes=PIPELINE`` on IR/bitcode bytes; return IR text (or bitcode).
    ``triple`` is the module's (the host's when None): it picks the relocation model.
    The options of :mod:`llmcompiler.llvm.options` are given, as in-process runs set them.

    Raises:
        PipelineError: opt rejected the pipeline or crashed (opt's stderr), or the
            pipeline holds one of llmcompiler's own steps (``llmc-narrow``), which opt-19
            does not know.
    """
    argv = [tool("opt"), f"-passes={pipeline}", *relocation_args(triple), *options.active()]
    argv += ["-", "-o", "-"] + (["-S"] if text else [])
    proc = _run(argv, ir, timeout)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        step = _OWN_STEP.search(stderr)
        if step:
            raise PipelineError(
                f"{step[1]} is llmcompiler's own step; opt-19 cannot run it; use llmc opt "
                f"(pipeline {pipeline!r})"
            )
        raise PipelineError(stderr)
    return proc.stdout


def llc_object(ir: bytes, timeout: float | None = 300, triple: str | None = None) -> bytes:
    """Compile IR/bitcode with ``llc-19 -filetype=obj`` (:func:`llc_args`); return the object.
    ``triple`` is the module's (the host's when None): it picks the relocation model.

    This is the reference code generator: it has the target library info that
    the C API's in-memory emitter lacks.

    Raises:
        EvaluationError: llc failed; the message is llc's stderr.
    """
    return _llc(ir, "obj", timeout, triple)


def llc_assembly(ir: bytes, timeout: float | None = 300, triple: str | None = None) -> str:
    """Compile IR/bitcode with ``llc-19`` to assembly text (AT&T syntax on x86)."""
    return _llc(ir, "asm", timeout, triple).decode()


def llc_args(filetype: str, triple: str | None = None) -> list[str]:
    """llc-19's arguments for the reference code generation (its defaults, with the
    relocation model clang-19 uses for ``triple``, the host's when None:
    :mod:`llmcompiler.llvm.codegen`), reading IR or bitcode on stdin and writing
    ``filetype`` ("obj" or "asm") to stdout. llc reads the triple from the module."""
    return [f"-filetype={filetype}", *relocation_args(triple), "-", "-o", "-"]


def _llc(ir: bytes, filetype: str, timeout: float | None, triple: str | None) -> bytes:
    proc = _run([tool("llc"), *llc_args(filetype, triple)], ir, timeout)
    if proc.returncode != 0:
        raise EvaluationError("llc-19 failed: " + failure_line(proc.stderr, proc.returncode))
    return proc.stdout


def failure_line(
    stderr: bytes, returncode: int = 0, skip: tuple[str, ...] = (), marks: tuple[str, ...] = ()
) -> str:
    """One line for a failed tool run: its first error line (an ``LLVM ERROR:`` or
    ``error:``, or one holding any of ``marks``), not the stack dump a crash prints, nor
    lines holding any of ``skip``; the signal when it was killed. At most 400 characters."""
    text = stderr.decode("utf-8", "replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not any(s in ln for s in skip)] or lines
    wanted = ("error", *marks)
    errors = [
        ln
        for ln in lines
        if any(w in ln.lower() for w in wanted) and not ln.startswith(("#", "Stack"))
    ]
    first = (errors or lines or ["no message"])[0]
    if returncode < 0:
        first += f" (killed by signal {-returncode})"
    return first if len(first) <= 400 else first[:397] + "..."


def llvm_size(object_path: str | os.PathLike) -> tuple[int, int, int]:
    """Return (text, data, bss) printed by ``llvm-size-19`` (Berkeley format) for a file,
    as :class:`~llmcompiler.llvm.objsize.BerkeleySize` reads them. For Mach-O, whose
    columns are ``__TEXT __DATA __OBJC others``, that is (__TEXT, __DATA, 0): zero-fill
    sections are inside __DATA, and __OBJC and others are not binary size. So text + data
    is the binary size in every format.

    Raises:
        EvaluationError: llvm-size-19 cannot read the file.
    """
    proc = _run([tool("llvm-size"), "--format=berkeley", file_arg(object_path)])
    if proc.returncode != 0:
        raise EvaluationError(proc.stderr.decode("utf-8", "replace").strip())
    header, numbers = proc.stdout.decode().splitlines()[:2]
    text, data, bss = (int(n) for n in numbers.split()[:3])
    return text, data, 0 if header.startswith("__TEXT") else bss


def count_text_instructions(ir: str) -> int:
    """Count the instructions in textual IR as opt-19 prints it: the lines of function
    bodies that are not labels, comments, blank, the closing brace or a switch's case
    lines. The reference the C-API count is tested against, and the count of the
    subprocess path."""
    count, inside, in_switch = 0, False, False
    for line in ir.splitlines():
        stripped = line.strip()
        if in_switch:  # switch ... [ case lines ]
            in_switch = not stripped.startswith("]")
            continue
        if line.startswith("define "):
            inside = True
        elif inside and line.startswith("}"):
            inside = False
        elif inside and stripped and not stripped.startswith(";"):
            if stripped.endswith("["):
                in_switch = True
            if not _LABEL.match(stripped):
                count += 1
    return count


_LABEL = re.compile(r"^[\w.$\-]+:")
