"""Real C projects, built by their own build systems: what ``llmc cc`` saves on them.

One project per kind of build system, each fetched from a package registry by the
registry's own client (no third-party code lives in this repository, only the
workloads under benchmarks/projects/):

  lua      Lua 5.4.8: PyPI sdist lupa==2.8, third-party/lua54.   Plain makefile.
           Check: Lua's own test suite (testes/all.lua, portable mode) and workload.lua.
  sqlite   SQLite 3.44.2: npm sqlite3@5.1.7, deps/sqlite-autoconf-3440200.tar.gz.
           Autotools (configure, libtool). Check: workload.sql through the sqlite3 shell.
  zlib-ng  zlib-ng 2.3.3: PyPI sdist zlib-ng==1.1.0, src/zlib_ng/zlib-ng.   CMake.
           Check: its own ctest suite (69 tests; the GoogleTest ones are off).

Each build keeps the project's own flags and replaces only its optimization level (and
Lua's ``-march=native``) with ``--cflags``: Lua's makefile is given CFLAGS (its -O2
dropped), SQLite's configure CFLAGS (autoconf's -g -O2 dropped), zlib-ng Release with
CMAKE_C_FLAGS_RELEASE=-DNDEBUG (its -O2 dropped). Builds are out of tree (Lua, whose
makefile builds in place: in a copy). Sizes are llvm-size-19 text + data.

Builds (``--modes``, or ``--all``; ``--llmc`` is ``clang,cold``), each checked the same
way and measured against the first:

  clang      clang -Oz (``--cc``, ``--cflags``).
  cold       ``CC="<venv>/bin/llmc cc"`` (CMake: ``-DCMAKE_C_COMPILER=<venv>/bin/llmc-cc``)
             with ``LLMC_CC_DB`` a fresh database in the work folder (every file a miss).
  warm       the same again with that database (every file a hit).
  tuned      ``llmc autotune --from-build --budget <--tune-budget>`` on that database,
             then the same build again.
  clang-lto  clang -Oz -flto, linked by lld (LLVM's ar and ranlib for the bitcode).
  lto        llmc cc -Oz -flto, whole-program mode, with a fresh database.

``--target TRIPLE`` cross-builds (Lua only) with clang's flags for that triple and lld,
and runs the checks under its emulator (qemu-user).

Usage: python benchmarks/projects.py [--projects lua,sqlite,zlib-ng] [--cc clang-19]
       [--cflags -Oz] [--work DIR] [--jobs 2] [--modes clang,cold,...|--all|--llmc]
       [--budget SECONDS] [--tune-budget SECONDS] [--target TRIPLE]
Needs: clang-19, llvm-size-19, make, cmake, ctest, npm, and pip (the registries).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from llmcompiler.errors import LLMCError
from llmcompiler.llvm.toolchain import llvm_size

ROOT = Path(__file__).resolve().parents[1]
#: the workloads written for these projects (scripts and their expected output)
WORKLOADS = Path(__file__).resolve().parent / "projects"
#: the fetched-source manifest's layout; bump when it changes
MANIFEST_SCHEMA = 1
#: what a registry client prints when it cannot reach the registry at all
UNREACHABLE_SIGNS = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "ProxyError",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
    "(from versions: none)",  # pip, for a pinned release that exists: no index answered
)


class ProjectError(Exception):
    """A project could not be fetched, built or checked; ``str()`` is the whole message."""


class FetchError(ProjectError):
    """A registry client failed. ``unreachable`` is true when the registry could not be
    reached at all (no network), as opposed to a package or version that is missing."""

    def __init__(self, message: str, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


class BuildError(ProjectError):
    """A configure or build step failed or timed out; the message ends with its log's tail."""


@dataclass(frozen=True)
class Check:
    """The outcome of a project's tests or workload."""

    passed: bool
    output: str  # what the tests printed; for a workload whose output differs, the diff


@dataclass(frozen=True)
class Build:
    """One finished build."""

    project: str
    out: Path  # the build folder
    binaries: tuple[Path, ...]  # the linked outputs, symbolic links resolved
    seconds: float  # wall time of configure and build together
    log: Path  # everything the build steps printed


@dataclass(frozen=True)
class Project:
    """Where a project comes from and how its build system is driven."""

    name: str
    system: str  # "make", "autotools" or "cmake"
    registry: str  # "pypi" or "npm"
    package: str  # the name in the registry
    version: str  # pinned: a new release may move or drop the sources
    source: str  # the project's folder inside the archive, or an archive inside it
    inner: str  # the project's folder inside that inner archive ("" when none)
    binaries: tuple[str, ...]  # linked outputs, relative to the build folder
    # build-system arguments; "{cflags}" becomes --cflags
    args: tuple[str, ...]
    check: Callable[[Path, Sequence[str]], Check]
    # build-system arguments for link flags ("{ldflags}") and LLVM's archive tools, added
    # for whole-program builds (bitcode objects) and cross builds
    link_args: tuple[str, ...] = ()
    cross: bool = False  # its check runs under an emulator (cross builds)
    fetch_env: tuple[tuple[str, str], ...] = field(default=())  # for the registry client


# --- checks ------------------------------------------------------------------------------


def _compare(name: str, got: str, expected_file: Path) -> Check:
    expected = expected_file.read_text()
    if got == expected:
        return Check(True, got)
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True),
        got.splitlines(keepends=True),
        str(expected_file.name),
        f"{name} output",
    )
    return Check(False, "".join(diff))


def _run_check(argv: Sequence[str], cwd: Path, timeout: float = 600, **kwargs) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            **kwargs,
        )
    except subprocess.TimeoutExpired:
        return -1, f"{shlex.join(map(str, argv))}: timed out after {timeout:g} s"
    except OSError as err:
        return -1, f"{shlex.join(map(str, argv))}: {err}"
    return proc.returncode, proc.stdout + proc.stderr


def _small_stack() -> None:
    # testes/cstack.lua expects the stack limit Lua's own `all` script sets (ulimit -s 1100)
    _, hard = resource.getrlimit(resource.RLIMIT_STACK)
    soft = 1100 * 1024
    resource.setrlimit(resource.RLIMIT_STACK, (soft if hard < 0 else min(soft, hard), hard))


def check_lua(out: Path, runner: Sequence[str] = ()) -> Check:
    """workload.lua must print workload.expected, then Lua's test suite (``testes/all.lua``
    in portable mode, as its ``all`` script runs it) must end with "final OK". ``runner``
    (an emulator's command) goes before the program."""
    argv = [*runner, out / "lua", WORKLOADS / "lua" / "workload.lua"]
    rc, got = _run_check(argv, cwd=out)
    workload = _compare("lua", got, WORKLOADS / "lua" / "workload.expected")
    if rc != 0 or not workload.passed:
        return Check(False, f"workload.lua (exit {rc}):\n{workload.output}")
    argv = [*runner, "../lua", "-W", "-e_port=true", "all.lua"]
    rc, suite = _run_check(argv, cwd=out / "testes", preexec_fn=_small_stack)
    return Check(rc == 0 and "final OK" in suite, f"{got}\ntestes/all.lua (exit {rc}):\n{suite}")


def check_sqlite(out: Path, runner: Sequence[str] = ()) -> Check:
    """workload.sql through the built shell (libtool's wrapper, so the built library is
    the one loaded) must print workload.expected."""
    script = (WORKLOADS / "sqlite" / "workload.sql").read_text()
    rc, got = _run_check([*runner, out / "sqlite3", "-batch"], cwd=out, input=script)
    result = _compare("sqlite3", got, WORKLOADS / "sqlite" / "workload.expected")
    return Check(rc == 0 and result.passed, f"sqlite3 (exit {rc}):\n{result.output}")


def check_ctest(out: Path, runner: Sequence[str] = ()) -> Check:
    """The project's own ``ctest`` suite passes."""
    rc, got = _run_check(["ctest", "--output-on-failure", "-j2"], cwd=out)
    return Check(rc == 0, got)


PROJECTS = {
    p.name: p
    for p in (
        Project(
            name="lua",
            system="make",
            registry="pypi",
            package="lupa",
            version="2.8",
            source="lupa-2.8/third-party/lua54",
            inner="",
            binaries=("lua",),
            # its makefile: CFLAGS= -Wall -O2 $(MYCFLAGS) -fno-stack-protector -fno-common
            # -march=native, MYCFLAGS adds -DLUA_USE_READLINE and MYLIBS -lreadline
            args=(
                "CFLAGS=-Wall $(MYCFLAGS) -fno-stack-protector -fno-common {cflags}",
                "MYCFLAGS=$(LOCAL) -std=c99 -DLUA_USE_LINUX",
                "MYLIBS=-ldl",
            ),
            check=check_lua,
            link_args=("MYLDFLAGS={ldflags}", "AR=llvm-ar-19 rcu", "RANLIB=llvm-ranlib-19"),
            cross=True,
            # lupa's setup.py builds its bundled LuaJIT just to report metadata: skip that
            fetch_env=(("LUPA_NO_LUAJIT", "true"),),
        ),
        Project(
            name="sqlite",
            system="autotools",
            registry="npm",
            package="sqlite3",
            # 5.1.7 ships sqlite-autoconf 3.44.2, the last made by autoconf and libtool
            # (6.x ships 3.52, configured by autosetup)
            version="5.1.7",
            source="package/deps/sqlite-autoconf-3440200.tar.gz",
            inner="sqlite-autoconf-3440200",
            binaries=(".libs/sqlite3", ".libs/libsqlite3.so"),
            args=(
                "CFLAGS={cflags}",
                "--disable-static",
                "--disable-static-shell",  # the shell loads the built library: both tested
                "--disable-readline",
                "--disable-editline",
            ),
            check=check_sqlite,
            link_args=(
                "LDFLAGS={ldflags}",
                "AR=llvm-ar-19",
                "RANLIB=llvm-ranlib-19",
                "NM=llvm-nm-19",
            ),
        ),
        Project(
            name="zlib-ng",
            system="cmake",
            registry="pypi",
            package="zlib-ng",
            version="1.1.0",
            source="zlib_ng-1.1.0/src/zlib_ng/zlib-ng",
            inner="",
            binaries=("libz-ng.so", "minigzip", "minideflate"),
            args=(
                "-DCMAKE_BUILD_TYPE=Release",  # its default; Release adds -O2 -DNDEBUG
                "-DCMAKE_C_FLAGS_RELEASE=-DNDEBUG",
                "-DCMAKE_C_FLAGS={cflags}",
                "-DBUILD_TESTING=ON",
                "-DWITH_GTEST=OFF",  # GoogleTest would be downloaded at configure time
            ),
            check=check_ctest,
            link_args=(
                "-DCMAKE_EXE_LINKER_FLAGS={ldflags}",
                "-DCMAKE_SHARED_LINKER_FLAGS={ldflags}",
                "-DCMAKE_AR={llvm-ar}",
                "-DCMAKE_RANLIB={llvm-ranlib}",
            ),
        ),
    )
}


def project(name: str) -> Project:
    """The project called ``name``. Raises ProjectError for an unknown name."""
    try:
        return PROJECTS[name]
    except KeyError:
        raise ProjectError(f"unknown project {name!r}; known: {', '.join(PROJECTS)}") from None


# --- fetch -------------------------------------------------------------------------------


def _registry_command(p: Project) -> list[str]:
    if p.registry == "pypi":
        spec = f"{p.package}=={p.version}"
        return [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", spec]
    return ["npm", "pack", f"{p.package}@{p.version}"]


def _download(p: Project, folder: Path) -> Path:
    argv = _registry_command(p)
    if p.registry == "pypi":
        argv += ["-d", str(folder)]
    env = {**os.environ, **dict(p.fetch_env)}
    try:
        proc = subprocess.run(
            argv, cwd=folder, env=env, capture_output=True, text=True, timeout=900
        )
    except FileNotFoundError:
        raise FetchError(f"{argv[0]} is not installed; it fetches {p.name}") from None
    except subprocess.TimeoutExpired:
        raise FetchError(f"{shlex.join(argv)} timed out", unreachable=True) from None
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()
        unreachable = any(sign in said for sign in UNREACHABLE_SIGNS)
        tail = "\n".join(said.splitlines()[-8:])
        raise FetchError(f"{shlex.join(argv)} failed:\n{tail}", unreachable=unreachable)
    archives = [f for f in folder.iterdir() if f.name.endswith((".tar.gz", ".tgz"))]
    if len(archives) != 1:
        raise FetchError(f"{shlex.join(argv)} left {len(archives)} archives, expected one")
    return archives[0]


def _unpack(p: Project, archive: Path, dest: Path) -> str:
    """Unpack the project's part of ``archive`` into ``dest``; return its folder there."""
    with tarfile.open(archive) as tar:
        if p.inner:
            try:
                member = tar.extractfile(p.source)
            except KeyError:
                member = None
            if member is None:
                raise FetchError(f"{archive.name} holds no {p.source}")
            with tarfile.open(fileobj=member) as inner:
                inner.extractall(dest, filter="data")
            return p.inner
        members = [m for m in tar.getmembers() if (m.name + "/").startswith(p.source + "/")]
        if not members:
            raise FetchError(f"{archive.name} holds no {p.source}/")
        tar.extractall(dest, members=members, filter="data")
        return p.source


def fetch(name: str, dest: str | os.PathLike) -> Path:
    """Download project ``name`` from its registry and unpack it into ``dest/name``,
    unless a manifest there shows it is already present. Returns the project's source
    folder.

    Raises:
        ProjectError: an unknown name.
        FetchError: the registry client failed (``unreachable`` says whether it was the
            network) or the archive lacks the project's folder.
    """
    p = project(name)
    home = Path(dest) / name
    manifest = home / "manifest.json"
    if manifest.is_file():
        known = json.loads(manifest.read_text())
        if known.get("schema") == MANIFEST_SCHEMA and known.get("version") == p.version:
            return home / known["source"]
    partial = Path(dest) / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "download").mkdir(parents=True)
    archive = _download(p, partial / "download")
    source = _unpack(p, archive, partial)
    command = _registry_command(p)
    if p.registry == "pypi":
        command = ["pip", *command[3:]]  # not this machine's interpreter path
    info = {
        "schema": MANIFEST_SCHEMA,
        "project": name,
        "registry": p.registry,
        "package": p.package,
        "version": p.version,
        "fetched_by": shlex.join(command),
        "fetch_env": dict(p.fetch_env),
        "archive": archive.name,
        "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
        "source": source,
    }
    shutil.rmtree(partial / "download")
    (partial / "manifest.json").write_text(json.dumps(info, indent=2) + "\n")
    shutil.rmtree(home, ignore_errors=True)
    partial.rename(home)
    return home / source


# --- build -------------------------------------------------------------------------------


def _run_logged(argv: Sequence[str], cwd: Path, env: Mapping[str, str], log, timeout: float):
    """Run one build step, its output appended to ``log``; the whole process group is
    killed on timeout. Raises BuildError when it fails."""
    log.write(f"$ {shlex.join(map(str, argv))}\n")
    log.flush()
    try:
        proc = subprocess.Popen(
            list(map(str, argv)),
            cwd=cwd,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as err:
        raise BuildError(f"{argv[0]}: {err}") from None
    try:
        rc = proc.wait(timeout=timeout)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if rc != 0:
        raise BuildError(f"{shlex.join(map(str, argv))} exited with {rc}")


def cmake_compiler(cc: str) -> tuple[list[str], dict[str, str]]:
    """CMake's way of being given the compiler command ``cc``: (arguments, environment).
    ``<bin>/llmc cc`` becomes ``-DCMAKE_C_COMPILER=<bin>/llmc-cc``; any other command with
    arguments goes in $CC, which CMake splits into the compiler and its arguments."""
    words = shlex.split(cc)
    if len(words) == 2 and Path(words[0]).name == "llmc" and words[1] == "cc":
        words = [str(Path(words[0]).with_name("llmc-cc"))]
    if len(words) == 1:
        return [f"-DCMAKE_C_COMPILER={words[0]}"], {}
    return [], {"CC": cc}


def build(
    name: str,
    src: str | os.PathLike,
    out: str | os.PathLike,
    cc: str,
    cflags: str = "-Oz",
    env: Mapping[str, str] | None = None,
    jobs: int = 2,
    timeout: float = 7200,
    ldflags: str | None = None,
) -> Build:
    """Build project ``name`` from ``src`` into ``out`` (emptied first) with the compiler
    command ``cc`` (e.g. ``clang-19`` or ``/abs/bin/llmc cc``) and ``cflags`` in place of
    the project's optimization flags; ``env`` is added to the environment of every step,
    ``timeout`` (seconds) bounds each step. ``ldflags`` (not None) are given to the
    project's link steps, with LLVM's archive tools (for bitcode objects or another
    target's). Returns the binaries and the wall time.

    Raises:
        ProjectError: an unknown name.
        BuildError: a step failed or timed out, or a binary is missing afterwards.
    """
    p = project(name)
    src, out = Path(src).resolve(), Path(out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    args = [a.replace("{cflags}", cflags) for a in p.args]
    if ldflags is not None:
        tools = {
            "{llvm-ar}": shutil.which("llvm-ar-19"),
            "{llvm-ranlib}": shutil.which("llvm-ranlib-19"),
        }
        for a in p.link_args:
            a = a.replace("{ldflags}", ldflags)
            for k, v in tools.items():
                a = a.replace(k, v or k)
            args.append(a)
    step_env = {**os.environ, **(env or {})}
    steps: list[tuple[list, Path]]
    if p.system == "make":
        shutil.copytree(src, out, symlinks=True)
        steps = [(["make", f"-j{jobs}", f"CC={cc}", *args], out)]
    elif p.system == "autotools":
        out.mkdir(parents=True)
        steps = [([src / "configure", f"CC={cc}", *args], out), (["make", f"-j{jobs}"], out)]
    else:
        out.mkdir(parents=True)
        compiler, cc_env = cmake_compiler(cc)
        step_env.update(cc_env)
        configure = ["cmake", "-S", src, "-B", out, *compiler, *args]
        steps = [(configure, out), (["cmake", "--build", out, "-j", str(jobs)], out)]
    log_path = out / "build.log"
    start = time.perf_counter()
    with open(log_path, "a") as log:
        for argv, cwd in steps:
            try:
                _run_logged(argv, cwd, step_env, log, timeout)
            except subprocess.TimeoutExpired:
                raise BuildError(f"{name}: {argv[0]} timed out after {timeout:g} s") from None
            except BuildError as err:
                log.flush()
                tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-15:])
                raise BuildError(f"{name}: {err}; end of {log_path}:\n{tail}") from None
    seconds = time.perf_counter() - start
    missing = [b for b in p.binaries if not (out / b).is_file()]
    if missing:
        raise BuildError(f"{name}: the build made no {', '.join(missing)} (log: {log_path})")
    binaries = tuple((out / b).resolve() for b in p.binaries)
    return Build(name, out, binaries, seconds, log_path)


def check(name: str, out: str | os.PathLike, runner: Sequence[str] = ()) -> Check:
    """Run project ``name``'s tests or workload against the build in ``out``, each
    program behind ``runner`` (an emulator, for a cross build). Raises ProjectError for
    an unknown name; a failing test is a Check, not an error."""
    return project(name).check(Path(out).resolve(), runner)


def binary_size(path: str | os.PathLike) -> int:
    """text + data of a binary, as llvm-size-19 counts them. Raises LLMCError when
    llvm-size-19 is missing or cannot read the file."""
    text, data, _ = llvm_size(path)
    return text + data


# --- command line ------------------------------------------------------------------------


def llmc_cc(bin_dir: str | os.PathLike) -> str:
    """The ``llmc cc`` command of the virtual environment whose scripts are in ``bin_dir``.
    Raises ProjectError when ``llmc cc --version`` does not work there."""
    llmc = Path(bin_dir) / "llmc"
    argv = [str(llmc), "cc", "--version"]
    rc, said = _run_check(argv, cwd=Path.cwd(), timeout=120)
    if rc != 0:
        said = said.strip().splitlines()[-1] if said.strip() else f"exit {rc}"
        raise ProjectError(
            f"--llmc needs the drop-in compiler, but `{shlex.join(argv)}` failed ({said}); "
            "install llmcompiler with `llmc cc` in this environment, or leave out --llmc"
        )
    return f"{llmc} cc"


@dataclass(frozen=True)
class Mode:
    """One way of building every project."""

    label: str  # the table's name for it
    llmc: bool  # built with llmc cc (else the --cc compiler)
    lto: bool = False  # -flto at compile and link time
    database: str = ""  # "fresh": emptied first; "": the one the previous mode used
    autotune: bool = False  # llmc autotune --from-build on that database first


#: every mode, in the order they run (warm and tuned reuse the database of the modes
#: before them)
MODES = {
    "clang": Mode("clang -Oz", llmc=False),
    "cold": Mode("llmc cc cold", llmc=True, database="fresh"),
    "warm": Mode("llmc cc warm", llmc=True),
    "tuned": Mode("llmc cc tuned", llmc=True, autotune=True),
    "clang-lto": Mode("clang -flto", llmc=False, lto=True),
    "lto": Mode("llmc cc -flto", llmc=True, lto=True, database="fresh"),
}

HEADER = (
    f"{'project':<8} {'system':<9} {'build':<14} {'binaries':<34} "
    f"{'text+data':>10} {'vs -Oz':>8} {'build s':>8} {'tune s':>7}  tests"
)


def _row(p: Project, mode: Mode, b: Build, sizes: list[int], base: int | None, result, tune):
    names = ",".join(Path(x).name for x in p.binaries)
    pct = f"{100.0 * (sum(sizes) - base) / base:+.2f}%" if base else "-"
    tuned = f"{tune:.1f}" if tune is not None else "-"
    return (
        f"{p.name:<8} {p.system:<9} {mode.label:<14} {names:<34} {sum(sizes):>10} {pct:>8} "
        f"{b.seconds:>8.1f} {tuned:>7}  {'pass' if result.passed else 'FAIL'}"
    )


def _cross(args: argparse.Namespace) -> tuple[list[str], list[str], list[str]]:
    """(compiler flags, link flags, runner) of ``--target``: none for the host.
    Raises ProjectError when programs of that target cannot be linked and run here."""
    if not args.target:
        return [], [], []
    from llmcompiler.llvm.runtime import runtime_for, why_not

    runtime = runtime_for(args.target)
    if runtime is None:
        raise ProjectError(f"--target {args.target}: {why_not(args.target)}")
    compile_flags = [f for f in runtime.link[1:] if f != "-fuse-ld=lld"]
    return compile_flags, ["-fuse-ld=lld"], list(runtime.prefix)


def _autotune(llmc: str, db: Path, args: argparse.Namespace) -> float:
    """``llmc autotune --from-build`` on ``db``; returns its wall time.
    Raises BuildError when it fails."""
    argv = [llmc, "autotune", "--from-build", "--db", str(db)]
    argv += ["--budget-per-program", str(args.tune_budget), "--jobs", str(args.jobs)]
    print(f"  $ {shlex.join(argv)}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    rc, said = _run_check(argv, cwd=Path.cwd(), timeout=4 * 3600)
    if rc != 0:
        tail = "\n".join(said.strip().splitlines()[-8:])
        raise BuildError(f"llmc autotune --from-build failed (exit {rc}):\n{tail}")
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.projects.split(",") if n.strip()]
    chosen = [project(n) for n in names]
    modes = [MODES[m] for m in args.modes]
    work = Path(args.work).resolve()
    (work / "db").mkdir(parents=True, exist_ok=True)
    flags, ldflags, runner = _cross(args)
    llmc = ""
    if any(m.llmc for m in modes):
        llmc = llmc_cc(Path(sys.executable).parent).removesuffix(" cc")
    if args.target and (not_cross := [p.name for p in chosen if not p.cross]):
        raise ProjectError(f"--target: {', '.join(not_cross)} cannot be checked cross-built")
    failures = 0
    print(HEADER, flush=True)
    for p in chosen:
        try:
            print(f"{p.name}: fetching {p.package} {p.version} ...", file=sys.stderr, flush=True)
            src = fetch(p.name, work / "src")
        except ProjectError as err:
            failures += 1
            print(f"{p.name}: error: {err}", file=sys.stderr, flush=True)
            continue
        base, db = None, None
        for key, mode in zip(args.modes, modes):
            cc = f"{llmc} cc" if mode.llmc else args.cc
            cc = shlex.join([*shlex.split(cc), *flags])
            env: dict[str, str] = {}
            tune = None
            try:
                if mode.llmc:
                    if mode.database == "fresh" or db is None:
                        db = work / "db" / f"{p.name}-{key}.sqlite"
                        for stale in db.parent.glob(db.name + "*"):
                            stale.unlink()
                    env["LLMC_CC_DB"] = str(db)
                    if args.budget is not None:
                        env["LLMC_CC_BUDGET"] = str(args.budget)
                    if mode.autotune:
                        tune = _autotune(llmc, db, args)
                cflags = f"{args.cflags} -flto" if mode.lto else args.cflags
                link = [*ldflags, *([args.cflags, "-flto", "-fuse-ld=lld"] if mode.lto else [])]
                out = work / "build" / f"{p.name}-{key}"
                print(
                    f"{p.name}: building {mode.label}: {cc} {cflags} ...",
                    file=sys.stderr,
                    flush=True,
                )
                b = build(
                    p.name,
                    src,
                    out,
                    cc,
                    cflags,
                    env=env,
                    jobs=args.jobs,
                    ldflags=shlex.join(dict.fromkeys(link)) if link else None,
                )
                sizes = [binary_size(x) for x in b.binaries]
                print(f"{p.name}: checking {mode.label} ...", file=sys.stderr, flush=True)
                result = check(p.name, b.out, runner)
            except (ProjectError, LLMCError) as err:
                failures += 1
                print(f"{p.name}: {mode.label}: error: {err}", file=sys.stderr, flush=True)
                continue
            if not result.passed:
                failures += 1
                tail = "\n".join(result.output.splitlines()[-25:])
                print(f"{p.name}: {mode.label} FAILED its check:\n{tail}", file=sys.stderr)
            if key == "clang":
                base = sum(sizes)
            print(_row(p, mode, b, sizes, base, result, tune), flush=True)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Fetch, build, check and measure the projects. Returns 0 when every build passed
    its check, 1 when one failed, 2 for a bad command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--projects", default=",".join(PROJECTS), help="comma-separated names")
    ap.add_argument("--cc", default="clang-19", help="the compiler command (default clang-19)")
    ap.add_argument("--cflags", default="-Oz", help="in place of each project's -O flags")
    ap.add_argument("--work", default=str(ROOT / "build" / "projects"), help="sources, builds")
    ap.add_argument("--jobs", type=int, default=2, help="parallel build jobs (default 2)")
    ap.add_argument(
        "--modes",
        default="clang",
        help=f"comma-separated builds, in this order: {', '.join(MODES)} (default clang)",
    )
    ap.add_argument("--llmc", action="store_true", help="same as --modes clang,cold")
    ap.add_argument("--all", action="store_true", help="every mode: --modes " + ",".join(MODES))
    ap.add_argument("--budget", type=float, help="LLMC_CC_BUDGET for the llmc cc builds")
    ap.add_argument(
        "--tune-budget", type=float, default=10.0, help="autotune's seconds per module (tuned)"
    )
    ap.add_argument("--target", help="cross-build for this triple, checked under its emulator")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.llmc:
        modes += ["clang", "cold"]
    if args.all:
        modes = list(MODES)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        ap.error(f"unknown mode {unknown[0]!r}; known: {', '.join(MODES)}")
    args.modes = [m for m in MODES if m in modes]
    try:
        return run(args)
    except ProjectError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
