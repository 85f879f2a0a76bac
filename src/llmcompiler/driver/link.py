"""Reading a clang command line for whole-program mode (``-flto``).

:func:`lto_mode` says whether a command asks for LTO: the last of ``-flto``,
``-flto=full``, ``-flto=thin``, ``-flto=auto``, ``-flto=jobserver`` and ``-fno-lto``
decides, as in clang. :func:`classify_link` reads a link command: its file inputs with
their positions, its output, the ``-O`` and LTO options, and the options that change
code generation. Like :func:`llmcompiler.driver.argv.classify` it never raises: a
command it does not understand is a passthrough, with the reason.

:func:`gather_inputs` then reads what the inputs hold, as a GNU linker resolves them:
the bitcode to join (objects, and the members of bitcode archives a symbol pulls in)
and the symbols the native inputs use (llvm-nm-19).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from llmcompiler.driver.argv import (
    _NOT_CODEGEN,
    _NOT_OURS,
    _NOT_OURS_PREFIX,
    _OPT_LEVEL,
    _PROBE_DIRS,
    _PROBE_NAMES,
    PASSTHROUGH,
    SOURCE_SUFFIXES,
    _split,
)
from llmcompiler.errors import LLMCError

LINK = "link"
#: seconds llvm-nm-19 may take on one input
NM_TIMEOUT = 300.0

#: the options that turn LTO on (every mode: ``thin`` is treated as ``full``)
_LTO_ON = re.compile(r"-flto(=(full|thin|auto|jobserver))?$")
_LTO_OFF = "-fno-lto"
#: inputs a link command would compile first: not a link of objects alone
_COMPILED = frozenset(SOURCE_SUFFIXES) | {".i", ".ii", ".s", ".S", ".ll", ".bc", ".m", ".mm"}
#: options that make a link something other than a link to an executable or a shared
#: library, or that need clang's own LTO (each handed to clang whole, with the reason)
_NOT_A_LINK = {
    "-c": "a compile (-c)",
    "-r": "a relocatable link (-r)",
    "--relocatable": "a relocatable link (--relocatable)",
    "-Wl,-r": "a relocatable link (-Wl,-r)",
    "-Wl,--relocatable": "a relocatable link (-Wl,--relocatable)",
    "-x": "-x (inputs in a named language)",
}
#: link options that change the relocation model clang's LTO compiles the program with
_SHARED = ("-shared",)
_NO_PIE = ("-no-pie", "-nopie")


def lto_options(args: Sequence[str]) -> list[int]:
    """Positions in ``args`` of the options that switch LTO on or off."""
    return [i for i, name in _options(args) if _LTO_ON.match(name) or name == _LTO_OFF]


def lto_mode(args: Sequence[str]) -> bool:
    """True when the command asks for LTO (the last LTO option is ``-flto[=mode]``)."""
    positions = lto_options(args)
    return bool(positions) and args[positions[-1]] != _LTO_OFF


def without_lto(args: Sequence[str]) -> list[str]:
    """``args`` without their LTO options."""
    drop = set(lto_options(args))
    return [a for i, a in enumerate(args) if i not in drop]


@dataclass(frozen=True)
class Link:
    """A classified link command line (LTO options included).

    Attributes:
        kind: LINK (ours) or PASSTHROUGH (clang runs it unchanged).
        reason: why a passthrough is one ("" for LINK).
        args: the arguments as given.
        inputs: (position, path) of each file input, in order.
        output: the file the link writes (``-o``, else ``a.out``).
        outputs: positions of the ``-o`` options (with their values).
        optimization: positions of the ``-O`` options.
        opt_level: the last ``-O`` option ("" when none).
        lto: positions of the LTO options.
        shared: the link builds a shared library (``-shared``).
        codegen: the options that change code generation, in order (those
            :func:`llmcompiler.driver.argv.codegen_key` keys on), and last the
            relocation model the output needs: ``-fPIC`` for ``-shared``, ``-fno-pic``
            for ``-no-pie`` and ``-static``, as clang's LTO chooses it.
        whole_archive: a ``--whole-archive`` linker option is given.
    """

    kind: str
    reason: str = ""
    args: tuple[str, ...] = ()
    inputs: tuple[tuple[int, str], ...] = ()
    output: str = "a.out"
    outputs: tuple[int, ...] = ()
    optimization: tuple[int, ...] = ()
    opt_level: str = ""
    lto: tuple[int, ...] = ()
    shared: bool = False
    codegen: tuple[str, ...] = ()
    whole_archive: bool = False

    def rewrite(
        self, drop: Collection[int] = (), put: Mapping[int, Sequence[str]] | None = None
    ) -> list[str]:
        """The arguments without those at the positions ``drop`` names, with ``put[i]``
        in place of the argument at position ``i``."""
        put = put or {}
        out: list[str] = []
        for i, a in enumerate(self.args):
            if i in put:
                out += put[i]
            elif i not in drop:
                out.append(a)
        return out


def classify_link(args: Sequence[str]) -> Link:
    """Classify a clang command line that links (``-c`` and the other compile-only
    options make it a passthrough).

    Returns a LINK Link when every input is a file that clang hands to the linker (no
    sources to compile first), else a PASSTHROUGH one with the reason. Never raises.
    """
    args = tuple(args)

    def passthrough(reason: str) -> Link:
        return Link(PASSTHROUGH, reason, args)

    inputs: list[tuple[int, str]] = []
    outputs: list[int] = []
    optimization: list[int] = []
    codegen: list[str] = []
    lto = set(lto_options(args))
    output, opt_level, outs = "a.out", "", 0
    shared = no_pie = whole_archive = False
    i, only_files = 0, False
    while i < len(args):
        a = args[i]
        if only_files or a == "-" or not a.startswith("-"):
            if a == "-":
                return passthrough("reads standard input (-)")
            if a.startswith("@") and not only_files:
                return passthrough(f"a response file ({a})")
            inputs.append((i, a))
            i += 1
            continue
        if a == "--":
            only_files = True
            i += 1
            continue
        if i in lto or a.startswith("-flto-jobs="):  # kept for clang's link (the fallback)
            i += 1
            continue
        reason = (
            _NOT_A_LINK.get(a)
            or _NOT_OURS.get(a)
            or next((r for p, r in _NOT_OURS_PREFIX if a.startswith(p)), "")
        )
        if reason:
            return passthrough(reason)
        name, value, width = _split(args, i)
        if width == 0:
            return passthrough(f"{a} without its value")
        if name == "-o":
            outputs += range(i, i + width)
            output, outs = value, outs + 1
        elif name == "-x":
            return passthrough(_NOT_A_LINK["-x"])
        elif _OPT_LEVEL.match(a):
            optimization.append(i)
            opt_level = a
        elif a in _SHARED:
            shared = True
        elif a in _NO_PIE or a == "-static":
            no_pie = True
        elif "--whole-archive" in a or (name == "-Xlinker" and "--whole-archive" in value):
            whole_archive = True
        elif _is_codegen(name):
            codegen += args[i : i + width]
        i += width
    if not inputs:
        return passthrough("no input files")
    for _, path in inputs:
        if os.path.splitext(path)[1] in _COMPILED:
            return passthrough(f"{path} is compiled and linked in one command")
    for path in [p for _, p in inputs] + [output]:
        if _PROBE_NAMES.match(os.path.basename(path)) or any(
            d in path.split("/") for d in _PROBE_DIRS
        ):
            return passthrough(f"{path} is a configure or CMake probe")
    if outs > 1:
        return passthrough("several -o options")
    if output in ("-", os.devnull):
        return passthrough(f"the output goes to {output} (a probe)")
    relocation = ["-fPIC"] if shared else ["-fno-pic"] if no_pie else []
    return Link(
        LINK,
        "",
        args,
        tuple(inputs),
        output,
        tuple(outputs),
        tuple(optimization),
        opt_level,
        tuple(sorted(lto)),
        shared,
        (*codegen, *relocation),
        whole_archive,
    )


def _is_codegen(name: str) -> bool:
    """Whether a link option changes the code of the program (the options
    :func:`llmcompiler.driver.argv.codegen_key` keys on, without the link-only ones)."""
    if name in ("-target", "-mllvm", "-Xassembler") or name.startswith(("--target=", "-Wa,")):
        return True
    if name.startswith("-g"):
        return True
    if name.startswith(("-flto", "-fno-lto", "-fuse-ld", "-fno-use-ld")):
        return False
    return name.startswith(("-f", "-m")) and not name.startswith(_NOT_CODEGEN)


def _options(args: Sequence[str]):
    """(position, option) of each option in ``args`` (option values and inputs skipped)."""
    i, only_files = 0, False
    while i < len(args):
        a = args[i]
        if only_files or not a.startswith("-") or a == "-":
            i += 1
            continue
        if a == "--":
            only_files = True
            i += 1
            continue
        _, _, width = _split(tuple(args), i)
        yield i, a
        i += max(width, 1)


#: how a link's inputs are told apart: raw bitcode and the Darwin bitcode wrapper
BITCODE_MAGIC = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
ARCHIVE_MAGIC = b"!<arch>\n"
#: the symbols of a file llvm-nm-19 cannot read: (defined, undefined, weak undefined)
_NONE: tuple[AbstractSet[str], ...] = (frozenset(),) * 3


@dataclass
class Inputs:
    """What a link's inputs hold: the bitcode files to join (in link order), the
    positions of the arguments that named them, and the symbols native inputs use."""

    bitcode: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    references: set[str] = field(default_factory=set)
    #: archives of both bitcode and native members, by position: the archive of their
    #: native members alone, which the link takes in their place
    native_archives: dict[int, str] = field(default_factory=dict)

    def put(self, first: Sequence[str]) -> dict[int, list[str]]:
        """What :meth:`Link.rewrite` puts in place of the inputs: ``first`` (the joined
        program) where the first bitcode came from, and each mixed archive's native
        part in its place."""
        put = {p: [path] for p, path in self.native_archives.items()}
        at = min([*self.positions, *self.native_archives])
        put[at] = [*first, *put.get(at, [])]
        return put


def gather_inputs(link: Link, tmp: str) -> Inputs:
    """Read the link's file inputs in order, as a GNU linker resolves them: bitcode
    objects are taken, members of bitcode archives when they define a symbol still
    undefined; native objects and archives add the symbols they use.

    An archive of both bitcode and native members (a project that compiles some files
    with ``-fno-lto``) gives its bitcode members like a bitcode archive, and its
    native members as an archive of their own that the link takes in its place.

    Raises:
        LLMCError: a bitcode archive is linked with ``--whole-archive``, or the native
            part of a mixed archive cannot be written.
    """
    found = Inputs()
    defined: set[str] = set()
    undefined: set[str] = set()

    def take(symbols: tuple[AbstractSet[str], ...], native: bool) -> None:
        defs, strong, weak = symbols
        defined.update(defs)
        undefined.update(strong)
        undefined.difference_update(defined)
        if native:
            found.references.update(strong | weak)

    for n, (position, path) in enumerate(link.inputs):
        head = _head(path)
        if head.startswith(BITCODE_MAGIC):
            found.bitcode.append(path)
            found.positions.append(position)
            take(_symbols(path).get("", _NONE), native=False)
            continue
        if head != ARCHIVE_MAGIC:  # a native object, a shared library, a script
            take(_symbols(path).get("", _NONE), native=True)
            continue
        members = _members(path)
        kinds = {data.startswith(BITCODE_MAGIC) for _, data in members}
        if True in kinds:
            if link.whole_archive:
                raise LLMCError(f"{path}: a bitcode archive with --whole-archive")
            folder = os.path.join(tmp, f"archive{n}")
            os.mkdir(folder)
            files = []
            for k, (member, data) in enumerate(members):
                files.append(os.path.join(folder, f"{k}-{os.path.basename(member)}"))
                Path(files[-1]).write_bytes(data)
            natives = [not data.startswith(BITCODE_MAGIC) for _, data in members]
            # (file, symbols, is native)
            pending = [(f, _symbols(f).get("", _NONE), n) for f, n in zip(files, natives)]
            if False in kinds:
                native = [f for f, n in zip(files, natives) if n]
                found.native_archives[position] = _archive(native, os.path.join(folder, "native.a"))
            else:
                found.positions.append(position)
        else:
            table = _symbols(path)
            pending = [(m, table.get(m, _NONE), True) for m, _ in members]
        changed = True
        while changed:  # an archive is searched again until it adds nothing (GNU ld)
            changed = False
            for item in list(pending):
                if item[1][0] & undefined:
                    pending.remove(item)
                    take(item[1], native=item[2])
                    if not item[2]:
                        found.bitcode.append(item[0])
                    changed = True
    return found


def _archive(members: Sequence[str], path: str) -> str:
    """Write an archive (with a symbol table) of the object files ``members``, in order;
    returns ``path``.

    Raises:
        LLMCError: llvm-ar-19 failed.
    """
    from llmcompiler.llvm.toolchain import failure_line, tool

    proc = subprocess.run([tool("llvm-ar"), "rcs", path, *members], capture_output=True)
    if proc.returncode != 0:
        raise LLMCError(f"llvm-ar-19 failed: {failure_line(proc.stderr, proc.returncode)}")
    return path


def _symbols(path: str) -> dict[str, tuple[set[str], set[str], set[str]]]:
    """The global symbols of an object, or of each member of an archive (keyed by the
    member's name; an object's under ""), as llvm-nm-19 reads them: (defined,
    undefined, weak undefined). A file llvm-nm cannot read has none."""
    from llmcompiler.llvm.toolchain import file_arg, tool

    try:
        proc = subprocess.run(
            [tool("llvm-nm"), "-P", file_arg(path)], capture_output=True, timeout=NM_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    out = proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else ""
    table: dict[str, tuple[set[str], set[str], set[str]]] = {}
    current = table.setdefault("", (set(), set(), set()))
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 1 and line.endswith(":"):  # an archive member
            current = table.setdefault(line[:-1], (set(), set(), set()))
        elif len(parts) >= 2:
            name, kind = parts[0], parts[1]
            if kind == "U":
                current[1].add(name)
            elif kind in ("w", "v"):
                current[2].add(name)
            elif kind.isupper():
                current[0].add(name)
    return table


def _members(path: str) -> list[tuple[str, bytes]]:
    """The members of a Unix ``ar`` archive (GNU or BSD names), in order, without its
    symbol and name tables.

    Raises:
        LLMCError: the archive cannot be read or is cut short.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise LLMCError(f"{path}: {err.strerror or err}") from None
    pos, names, out = len(ARCHIVE_MAGIC), b"", []
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        try:
            size = int(header[48:58].strip() or b"0")
        except ValueError:
            raise LLMCError(f"{path}: not a readable archive") from None
        body = data[pos + 60 : pos + 60 + size]
        if len(body) < size:
            raise LLMCError(f"{path}: the archive is cut short")
        pos += 60 + size + (size & 1)
        name = header[:16].decode("utf-8", "replace").rstrip()
        if name == "//":
            names = body
        elif name in ("/", "/SYM64/") or name.startswith("__.SYMDEF"):
            continue
        elif name.startswith("#1/") and name[3:].isdigit():  # BSD: the name leads the body
            length = int(name[3:])
            out.append((body[:length].rstrip(b"\0").decode("utf-8", "replace"), body[length:]))
        elif name.startswith("/") and name[1:].isdigit():  # GNU: an offset in the table
            offset = int(name[1:])
            end = names.find(b"/\n", offset)
            out.append((names[offset : end if end >= 0 else None].decode("utf-8", "replace"), body))
        else:
            out.append((name.removesuffix("/"), body))
    return out


def _head(path: str) -> bytes:
    """The first bytes of a file (empty when it cannot be read: the link reports it)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(ARCHIVE_MAGIC))
    except OSError:
        return b""
