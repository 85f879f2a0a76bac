"""Classifying a clang command line, as ccache and sccache do: is it ours?

Only one kind of command is ours: compiling C or C++ sources to object files
(``-c``, every input a C/C++ source). Everything else a build asks of its compiler
(linking, assembling ``.s``/``.S``, preprocessing, ``--version``, ``-v``, dependency
listing with ``-M``, configure and CMake probes, anything with a response file or an
option we do not understand) is a *passthrough*: clang-19 runs it unchanged.

:func:`classify` parses the arguments once, keeping each option with its value
(``-o X``, ``-MF X``, ``-I X``, ``-x X``...), and returns a :class:`Command`: the
sources with the object each compiles to, the user's remaining flags, and the
dependency-file flags apart (the IR step writes the ``.d`` file; the object step must
not). :func:`codegen_key` names the flags that change code generation beyond the IR.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

COMPILE = "compile"
PASSTHROUGH = "passthrough"

#: how clang names a source's language from its suffix (only C and C++ are ours)
SOURCE_SUFFIXES = {".c": "c"} | dict.fromkeys(
    (".cc", ".cp", ".cpp", ".CPP", ".cxx", ".CXX", ".c++", ".C++", ".C"), "c++"
)
#: ``-x`` languages that are ours; ``none`` goes back to naming by suffix
LANGUAGES = {"c": "c", "c++": "c++"}

#: options whose value is the next argument when written alone (``-o x.o``)
_SEPARATE = frozenset(
    {
        *("-o", "-x", "-I", "-D", "-U", "-include", "-imacros", "-isystem", "-idirafter"),
        *("-iquote", "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-isysroot"),
        *("-cxx-isystem", "-iframework", "-ivfsoverlay", "-include-pch", "-imultilib"),
        *("-MF", "-MT", "-MQ", "-MJ", "-dependency-file", "-dependency-dot"),
        *("-target", "-arch", "-mllvm", "-Xlinker", "-Xassembler", "-Xpreprocessor"),
        *("-Xclang", "-Xanalyzer", "-Xopenmp-target", "-L", "-l", "-F", "-B", "-T"),
        *("-u", "-z", "-e", "-A", "--sysroot", "--config", "--param", "-aux-info"),
        *("-serialize-diagnostics", "-framework", "--serialize-diagnostics"),
    }
)
#: of those, the ones clang also takes joined to their value (``-Iinclude``, ``-ox.o``)
_JOINED = ("-o", "-x", "-I", "-D", "-U", "-L", "-l", "-F", "-B", "-MF", "-MT", "-MQ")
_JOINED += ("-isystem", "-iquote", "-idirafter")

#: options that make a command something other than a plain compile to an object, or
#: that need clang's own optimization pipeline (instrumentation, LTO): each is handed
#: to clang whole, with the reason
_NOT_OURS = {
    "-E": "preprocessing (-E)",
    "-S": "assembly output (-S)",
    "-M": "dependency listing (-M)",
    "-MM": "dependency listing (-MM)",
    "-###": "showing the jobs (-###)",
    "-v": "verbose (-v)",
    "--verbose": "verbose (--verbose)",
    "-emit-llvm": "IR output (-emit-llvm)",
    "-fsyntax-only": "-fsyntax-only",
    "--analyze": "--analyze",
    "-Xclang": "-Xclang (options for cc1 are not understood)",
    "-save-temps": "-save-temps",
    "-fembed-bitcode": "-fembed-bitcode",
    "--coverage": "coverage instrumentation (--coverage)",
    "-ftest-coverage": "coverage instrumentation (-ftest-coverage)",
    "-fcoverage-mapping": "coverage instrumentation (-fcoverage-mapping)",
    "-pg": "profiling instrumentation (-pg)",
    "-fxray-instrument": "-fxray-instrument",
    "--precompile": "--precompile",
    "-MJ": "-MJ (a compilation database entry)",
}
#: prefixes of the same (an option that begins with one of these is not ours)
_NOT_OURS_PREFIX = (
    ("-flto", "LTO (-flto)"),
    ("-save-temps=", "-save-temps"),
    ("-fsanitize=", "sanitizer instrumentation (-fsanitize)"),
    ("-fsanitize-coverage=", "sanitizer coverage (-fsanitize-coverage)"),
    ("-fprofile-instr-generate", "profile instrumentation"),
    ("-fprofile-instr-use", "profile-guided optimization"),
    ("-fprofile-generate", "profile instrumentation"),
    ("-fprofile-use", "profile-guided optimization"),
    ("-fprofile-sample-use", "profile-guided optimization"),
    ("-fprofile-arcs", "coverage instrumentation (-fprofile-arcs)"),
    ("-fcs-profile-generate", "profile instrumentation"),
    ("-fmemory-profile", "-fmemory-profile"),
    ("-finstrument-functions", "function instrumentation (-finstrument-functions)"),
    ("-fembed-bitcode=", "-fembed-bitcode"),
    ("-gsplit-dwarf", "-gsplit-dwarf"),
    ("-fveclib=", "-fveclib (a vector library for clang's own pipeline)"),
    ("-print-", "a query (-print-...)"),
    ("--print-", "a query (--print-...)"),
    ("-dump", "a query (-dump...)"),
    ("--help", "--help"),
    ("--version", "--version"),
)
#: the optimization levels (replaced by -Oz: the product optimizes for size)
_OPT_LEVEL = re.compile(r"-O([0-4sgz]|fast)?$")
#: a compiler named as the first argument by a launcher (CMAKE_C_COMPILER_LAUNCHER)
_CLANG_NAME = re.compile(r"clang(\+\+)?(-\d+(\.\d+)*)?$")
#: the files and folders configure, CMake and Meson compile to probe the compiler
_PROBE_NAMES = re.compile(r"^(conftest\.|CMakeC(XX)?CompilerId\.)")
_PROBE_DIRS = ("CMakeScratch", "CMakeTmp", "CompilerIdC", "CompilerIdCXX", "meson-private")


@dataclass(frozen=True)
class Source:
    """One source file of a compile command.

    Attributes:
        path: the file as the command line names it.
        language: "c" or "c++".
        explicit: the language came from ``-x`` (not from the suffix).
        output: the object it compiles to (``-o``, else ``<basename>.o`` in the
            working directory, as clang names it).
        position: its index in :attr:`Command.args`.
    """

    path: str
    language: str
    explicit: bool
    output: str
    position: int


@dataclass(frozen=True)
class Command:
    """A classified compiler command line.

    Attributes:
        kind: COMPILE (ours) or PASSTHROUGH (clang runs it unchanged).
        reason: why a passthrough is one ("" for COMPILE).
        args: the arguments as given (a launcher's compiler path removed).
        sources: the C/C++ sources and their objects (COMPILE only).
        flags: the remaining options in order, each with its value: everything but
            ``-c``, ``-o``, ``-x``, the sources and the dependency-file options.
        dependency: the dependency-file options (``-MD``, ``-MMD``, ``-MF X``, ``-MT X``,
            ``-MQ X``, ``-MP``...; ``-Wp,-MD,F`` written as ``-MD -MF F``).
        optimization: positions in ``args`` of the ``-O`` options.
        opt_level: the last ``-O`` option ("" when none).
    """

    kind: str
    reason: str = ""
    args: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    flags: tuple[str, ...] = ()
    dependency: tuple[str, ...] = ()
    optimization: tuple[int, ...] = ()
    opt_level: str = ""

    @property
    def writes_dependencies(self) -> bool:
        """True when the command writes a ``.d`` file (``-MD`` or ``-MMD``)."""
        return "-MD" in self.dependency or "-MMD" in self.dependency

    def dependency_flags(self, source: Source) -> list[str]:
        """The dependency options for compiling ``source`` with ``-o`` naming another file:
        the user's, plus the target (``-MQ <object>``) and the file
        (``-MF <object minus suffix>.d``) clang would have chosen when the user named
        none, so the ``.d`` file is the one a plain clang run writes."""
        out = list(self.dependency)
        if not self.writes_dependencies:
            return out
        if not any(f in ("-MT", "-MQ") for f in self.dependency):
            out += ["-MQ", source.output]
        if "-MF" not in self.dependency:
            out += ["-MF", os.path.splitext(source.output)[0] + ".d"]
        return out

    def fallback_args(self, source: Source) -> list[str]:
        """The command line as given, for ``source`` alone, at -Oz: the other sources and
        every ``-O`` option removed, ``-Oz`` first (``-Ofast`` keeps its fast math)."""
        others = {s.position for s in self.sources if s is not source}
        drop = others | set(self.optimization)
        return size_level(self.opt_level) + [a for i, a in enumerate(self.args) if i not in drop]


def size_level(opt_level: str) -> list[str]:
    """What replaces the user's ``-O`` option: ``-Oz``, and ``-ffast-math`` for ``-Ofast``
    (which is ``-O3 -ffast-math``: the fast math is a meaning, not an optimization level)."""
    return ["-Oz", "-ffast-math"] if opt_level == "-Ofast" else ["-Oz"]


def strip_launcher(args: Sequence[str], cxx: bool) -> tuple[list[str], bool]:
    """Drop a leading compiler path that names clang (``llmc cc clang-19 -c x.c``: how
    a compiler launcher such as CMAKE_C_COMPILER_LAUNCHER is called). Returns the
    arguments and whether the command is C++ (``clang++`` named, or ``cxx``)."""
    args = list(args)
    if args and not args[0].startswith("-"):
        found = _CLANG_NAME.match(os.path.basename(args[0]))
        if found:
            return args[1:], cxx or bool(found[1])
    return args, cxx


def classify(args: Sequence[str]) -> Command:
    """Classify a clang command line (without the compiler's name).

    Returns a COMPILE Command when every input is a C/C++ source compiled to an object
    with ``-c``, else a PASSTHROUGH one with the reason. Never raises: what it does not
    understand is a passthrough.
    """
    args = tuple(args)

    def passthrough(reason: str) -> Command:
        return Command(PASSTHROUGH, reason, args)

    flags: list[str] = []
    dependency: list[str] = []
    inputs: list[tuple[int, str, str | None]] = []  # position, path, -x language
    optimization: list[int] = []
    outputs: list[str] = []
    compile_only = False
    language: str | None = None
    opt_level = ""
    i, only_files = 0, False
    while i < len(args):
        a = args[i]
        if only_files or a == "-" or not a.startswith("-"):
            if a == "-":
                return passthrough("reads standard input (-)")
            if a.startswith("@") and not only_files:
                return passthrough(f"a response file ({a})")
            inputs.append((i, a, language))
            i += 1
            continue
        if a == "--":
            only_files = True
            i += 1
            continue
        reason = _NOT_OURS.get(a) or next((r for p, r in _NOT_OURS_PREFIX if a.startswith(p)), "")
        if reason:
            return passthrough(reason)
        name, value, width = _split(args, i)
        if width == 0:
            return passthrough(f"{a} without its value")
        if name == "-c":
            compile_only = True
        elif name == "-o":
            outputs.append(value)
        elif name == "-x":
            language = None if value == "none" else value
        elif _OPT_LEVEL.match(a):
            optimization.append(i)
            opt_level = a
        elif name in ("-MD", "-MMD", "-MP", "-MG", "-MV"):
            dependency.append(name)
        elif name in ("-MF", "-MT", "-MQ"):
            dependency += [name, value]
        elif a.startswith(("-Wp,-MD,", "-Wp,-MMD,")):  # Linux kernel style
            flag, _, path = a[4:].partition(",")
            dependency += [flag, "-MF", path]
        elif name == "-arch" or a.startswith("-Xarch"):
            return passthrough("-arch (several targets at once)")
        else:
            flags += args[i : i + width]
        i += width
    if not compile_only:
        return passthrough("not a compile to objects (no -c)")
    if not inputs:
        return passthrough("no input files")
    sources = []
    for position, path, explicit in inputs:
        kind = LANGUAGES.get(explicit) if explicit else SOURCE_SUFFIXES.get(_suffix(path))
        if kind is None:
            return passthrough(f"{path} is not a C or C++ source")
        if _PROBE_NAMES.match(os.path.basename(path)) or any(
            d in path.split("/") for d in _PROBE_DIRS
        ):
            return passthrough(f"{path} is a configure or CMake probe")
        sources.append((position, path, kind, explicit is not None))
    if len(outputs) > 1:
        return passthrough("several -o options")
    # CMake's try_compile of a project's own file: its object goes to cmTC_<id>.dir, in
    # a CMakeTmp or CMakeScratch working directory
    where = [*(outputs[0].split("/") if outputs else []), *os.getcwd().split("/")]
    if any(d.startswith("cmTC_") or d in _PROBE_DIRS for d in where):
        return passthrough("a CMake try_compile probe")
    if outputs and len(sources) > 1:
        return passthrough("-o with several sources (clang reports it)")
    if outputs and outputs[0] in ("-", os.devnull):
        return passthrough(f"the object goes to {outputs[0]} (a probe)")
    if len(sources) > 1 and any(f in ("-MF", "-MT", "-MQ") for f in dependency):
        return passthrough("-MF, -MT or -MQ with several sources")
    return Command(
        COMPILE,
        "",
        args,
        tuple(
            Source(path, kind, explicit, outputs[0] if outputs else _object_name(path), position)
            for position, path, kind, explicit in sources
        ),
        tuple(flags),
        tuple(dependency),
        tuple(optimization),
        opt_level,
    )


def _split(args: tuple[str, ...], i: int) -> tuple[str, str, int]:
    """(option name, value, arguments it takes) for the option at ``args[i]``; width 0
    when a separate value is missing."""
    a = args[i]
    if a in _SEPARATE:
        return (a, args[i + 1], 2) if i + 1 < len(args) else (a, "", 0)
    for name in _JOINED:
        if a.startswith(name) and len(a) > len(name) and not a.startswith("-obj"):
            return name, a[len(name) :], 1
    return a, "", 1


def _suffix(path: str) -> str:
    return os.path.splitext(path)[1]


def _object_name(path: str) -> str:
    """The object clang writes for ``path`` when no ``-o`` names one: its base name with
    ``.o``, in the working directory."""
    return os.path.splitext(os.path.basename(path))[0] + ".o"


#: ``-f`` options that change only diagnostics or file paths in debug info (which the
#: IR already holds), never the code: left out of the codegen key
_NOT_CODEGEN = (
    "-fdiagnostics",
    "-fno-diagnostics",
    "-fcolor-diagnostics",
    "-fno-color-diagnostics",
    "-fansi-escape-codes",
    "-fcaret-diagnostics",
    "-fno-caret-diagnostics",
    "-fmessage-length",
    "-fshow-",
    "-fno-show-",
    "-fmacro-backtrace-limit",
    "-ftemplate-backtrace-limit",
    "-fconstexpr-backtrace-limit",
    "-fspell-checking",
    "-fno-spell-checking",
    "-ferror-limit",
    "-fdebug-prefix-map",
    "-ffile-prefix-map",
    "-fmacro-prefix-map",
    "-fcoverage-prefix-map",
)
#: the PIC/PIE options: clang takes the last of them all
_PIC = frozenset(f"-f{no}{kind}" for no in ("", "no-") for kind in ("pic", "PIC", "pie", "PIE"))


def codegen_key(flags: Sequence[str]) -> str:
    """The user's options that can change the object beyond what the IR holds, as one
    normalized string (the tuning database keys on it with the module's hash).

    Taken: ``-f...`` options but the diagnostic and path-mapping ones (PIC/PIE, function
    and data sections, frame pointers, ...), ``-m...`` (``-march``, ``-mcpu``,
    ``-mcmodel``, ABI and feature options), ``--target``/``-target``, ``-g...``,
    ``-mllvm X``, and assembler options (``-Wa,...``, ``-Xassembler X``). For an option
    given several times or negated (``-fno-X`` after ``-fX``) the last one counts, as in
    clang; the survivors are sorted and joined with spaces.

    Left out: ``-O`` (``llmc cc`` replaces it by ``-Oz`` in every step, so the user's
    level does not change the object), ``-std``, ``-D``, ``-I`` and other front-end
    options (they change the IR, so the module hash already tells them apart), and
    warnings.
    """
    last: dict[str, str] = {}
    i = 0
    while i < len(flags):
        a = flags[i]
        value = flags[i + 1] if i + 1 < len(flags) else ""
        i += 1
        if a == "-target":
            last["--target"], i = f"--target={value}", i + 1
        elif a in ("-mllvm", "-Xassembler"):
            last[f"{a}={value}"], i = f"{a}={value}", i + 1
        elif a in _SEPARATE:
            i += 1  # an option's value is never a codegen option
        elif a.startswith("--target="):
            last["--target"] = a
        elif a.startswith(("-Wa,", "-g")):
            last[a] = a  # -g, -g0, -gdwarf-4, -gsplit-dwarf, -Wa,...: kept as a set
        elif a.startswith(("-f", "-m")) and not a.startswith(_NOT_CODEGEN):
            last[_option_name(a)] = a
    return " ".join(sorted(last.values()))


def _option_name(flag: str) -> str:
    """What an option sets, for "the last one counts": ``-fno-X`` and ``-fX`` (and
    ``-fX=1``) set X; every PIC/PIE option sets the relocation model."""
    if flag in _PIC:
        return "pic"
    name = flag.split("=", 1)[0]
    for prefix in ("-fno-", "-mno-"):
        if name.startswith(prefix):
            return name[:2] + name[len(prefix) :]
    return name
