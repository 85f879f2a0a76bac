"""A sample of a module: some of its functions, with everything they call and the
globals they read, cut out with llvm-extract-19 into a module a fraction of the size.

Search uses it as a cheap stand-in for a large module (:mod:`llmcompiler.search.screen`):
a pass list runs on the sample in a fraction of the time. The sample keeps what makes
the passes behave as on the whole module: each chosen function with the bodies of
the functions it refers to (inlining sees the same callees), the global variables
they refer to with their initializers (constants still fold), and the linkage each
had (llvm-extract makes extracted internal symbols hidden, so that dead-code
elimination would keep what it deletes in the whole module; it is made internal
again).
"""

from __future__ import annotations

import random
import re
import subprocess
from dataclasses import dataclass

from llmcompiler.errors import InvalidIRError
from llmcompiler.llvm.binding import Module
from llmcompiler.llvm.toolchain import tool

#: a global name in textual IR: plain or quoted (with \\XX escapes)
_NAME = r'@(?:"((?:[^"\\]|\\.)*)"|([-\w.$]+))'
_DEFINE = re.compile(r"^define\b[^@]*" + _NAME + r"\(")
_GLOBAL = re.compile(r"^" + _NAME + r"\s*=\s*(.*)$")
_REF = re.compile(_NAME)
_LOCAL = re.compile(r"^(?:private|internal)\b")
_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Sample:
    """A sample module: its bitcode, the functions given bodies, and their size."""

    bitcode: bytes
    functions: tuple[str, ...]
    instructions: int


@dataclass
class _Symbol:
    kind: str  # "function", "global" or "alias"
    local: bool
    refs: set[str]


def sample_functions(
    bitcode: bytes, target: int, seed: int = 0, timeout: float = 60
) -> Sample | None:
    """Cut out of ``bitcode`` about ``target`` IR instructions of functions: externally
    visible functions in a seeded random order, then local ones (most of a C file's
    functions are static), each with the closure of what it refers to (a function whose
    closure alone passes twice the target is passed over). A local function taken as a
    root is external in the sample, as nothing there may call it.

    Returns None where no sample is worth having: the module is not twice the target,
    no function fits, or llvm-extract-19 fails (a sample is an aid, never required).
    """
    with Module.parse(bitcode) as module:
        counts = module.function_instruction_counts()
        if sum(counts.values()) < 2 * target:
            return None
        symbols = _symbols(module.to_text())
    rng = random.Random(seed)
    roots = []
    for local in (False, True):  # externally visible functions first
        some = sorted(n for n, s in symbols.items() if s.kind == "function" and s.local == local)
        rng.shuffle(some)
        roots += some
    chosen: set[str] = set()
    taken: set[str] = set()  # roots: a local one stays external, else nothing calls it
    size = 0
    for root in roots:
        if size >= target:
            break
        closure = _closure(symbols, root, chosen)
        added = sum(counts.get(n, 0) for n in closure if symbols[n].kind == "function")
        if added == 0 or added > 2 * target:
            continue
        chosen |= closure
        taken.add(root)
        size += added
    if size == 0:
        return None
    args = [tool("llvm-extract"), "-", "-o", "-"]
    flags = {"function": "--func", "global": "--glob", "alias": "--alias"}
    args += [f"{flags[symbols[name].kind]}={name}" for name in sorted(chosen)]
    try:
        done = subprocess.run(args, input=bitcode, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    with Module.parse(done.stdout, "sample") as part:
        part.localize([n for n in chosen if symbols[n].local and n not in taken])
        try:
            part.verify()
        except InvalidIRError:  # an invalid sample is no sample
            return None
        bitcode = part.to_bitcode()
    functions = tuple(sorted(n for n in chosen if symbols[n].kind == "function"))
    return Sample(bitcode, functions, size)


def _closure(symbols: dict[str, _Symbol], root: str, have: set[str]) -> set[str]:
    """``root`` and what it refers to, transitively, that ``have`` lacks. A global
    variable's initializer pulls in other globals, not function bodies (a table of
    function pointers keeps pointers to declarations)."""
    out, stack = set(), [root]
    while stack:
        name = stack.pop()
        if name in out or name in have or name not in symbols:
            continue
        out.add(name)
        symbol = symbols[name]
        for ref in symbol.refs:
            if symbol.kind == "function" or symbols.get(ref, symbol).kind != "function":
                stack.append(ref)
    return out


def _symbols(text: str) -> dict[str, _Symbol]:
    """The module's defined functions, global variables and aliases, by name."""
    symbols: dict[str, _Symbol] = {}
    body: _Symbol | None = None
    for line in text.splitlines():
        if body is not None:
            if line == "}":
                body = None
            elif "@" in line:
                body.refs.update(_names(line))
            continue
        if line.startswith("define"):
            match = _DEFINE.match(line)
            if match is None:
                continue
            name = _name(match)
            local = re.search(r"^define\s+(?:private|internal)\b", line) is not None
            body = symbols[name] = _Symbol("function", local, set(_names(line)) - {name})
            if line.rstrip().endswith("}"):
                body = None
            continue
        match = _GLOBAL.match(line)
        if match is None:
            continue
        name, rest = _name(match), match.group(3)
        words = rest.split()
        if "external" in words[:2] or "extern_weak" in words[:2]:
            continue  # a declaration
        kind = "alias" if re.search(r"\balias\b", rest.split(",")[0]) else "global"
        if re.search(r"\bifunc\b", rest.split(",")[0]):
            continue
        symbols[name] = _Symbol(kind, _LOCAL.match(rest) is not None, set(_names(rest)) - {name})
    return symbols


def _names(text: str) -> list[str]:
    return [_name(m) for m in _REF.finditer(text)]


def _name(match: re.Match) -> str:
    quoted, plain = match.group(1), match.group(2)
    if quoted is None:
        return plain
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), quoted)
