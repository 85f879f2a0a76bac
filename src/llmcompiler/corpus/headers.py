"""Headers a package's file needs that its include folders do not give.

A package compiled file by file, without its build system, misses two kinds of header:
those included by a path below a folder that holds no header itself
(``#include "leveldb/db.h"`` with ``include/leveldb/db.h``), and those its configure
step writes (``ares_build.h`` from ``ares_build.h.cmake``, ``opj_config_private.h``).
:func:`include_dir_for` finds the first kind in the package by the name clang reports,
and for the second runs the package's own configure step (CMake, else a ``configure``
script) once, then looks in what it wrote; files of a configured project are then
compiled with ``-DHAVE_CONFIG_H``, as its build does (:func:`configured`).
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import subprocess
from pathlib import Path

#: clang's message for a missing header: ``fatal error: 'x/y.h' file not found``
_MISSING = re.compile(r"fatal error: '([^']+)' file not found")
_PROJECT = re.compile(r"^\s*project\s*\(", re.M | re.I)  # a CMake project's top file
#: what a configure step makes NAME from
_TEMPLATES = (".in", ".cmake", ".cmake.in", ".cmakein")
#: seconds a package's configure step may take
CONFIGURE_TIMEOUT = 300.0
#: folder, beside the configured CMake project, that receives what CMake writes
CMAKE_BUILD = "_llmc_cmake"
#: marker written once a folder's configure step has run: "ok" or why it failed
DONE = ".llmc-configured"


def missing_header(diagnostics: str) -> str | None:
    """The header clang could not find, from its diagnostics (None: no such error)."""
    found = _MISSING.search(diagnostics)
    return found.group(1) if found else None


def include_dir_for(package: Path, name: str, source: Path) -> Path | None:
    """A folder of ``package`` that makes ``#include "name"`` resolve, nearest to
    ``source`` first; when the package has none, but has a template for it, the
    package's configure step is run (once) and what it wrote is searched. None: not
    found, or the configure step failed."""
    found = _nearest(_search(package, name, _files(package)), source)
    if found is not None:
        return found
    for template in _templates(package, name):
        project = _configurable(template.parent, package)
        if project is None:
            continue
        out = _configure(project)
        if out is not None:
            written = [p for p in out.rglob(Path(name).name) if p.is_file()]
            dirs = _search(out, name, [p.relative_to(out).as_posix() for p in written])
            found = _nearest(dirs, source)
            if found is not None:
                return found
    return None


def configured(package: Path, source: Path) -> Path | None:
    """The folder that the configure step of the project holding ``source`` wrote into,
    when that step has run and succeeded (None otherwise). A file of a configured
    project is compiled as its build would: with ``-DHAVE_CONFIG_H`` and that folder."""
    project = _configurable(source.parent, package)
    if project is None or not (project / DONE).is_file():
        return None
    if (project / DONE).read_text() != "ok":
        return None
    cmake = project / CMAKE_BUILD
    return cmake if cmake.is_dir() else project


@functools.lru_cache(maxsize=16)
def _files(package: Path) -> list[str]:
    """Every file of the package, as paths relative to it."""
    return [p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()]


def _search(root: Path, name: str, files: list[str]) -> list[Path]:
    """Folders D under ``root`` with D/name among ``files``."""
    name = name.lstrip("./")
    out = []
    for rel in files:
        if rel == name:
            out.append(root)
        elif rel.endswith("/" + name):
            out.append(root / rel[: -len(name) - 1])
    return out


def _nearest(dirs: list[Path], source: Path) -> Path | None:
    """The folder sharing the longest path prefix with ``source`` (then the shortest)."""
    if not dirs:
        return None

    def shared(d: Path) -> int:
        return len(os.path.commonpath([str(d), str(source)]))

    return max(sorted(dirs, key=lambda d: (len(str(d)), str(d))), key=shared)


def _templates(package: Path, name: str) -> list[Path]:
    base = Path(name).name
    wanted = {base + suffix for suffix in _TEMPLATES}
    return [package / rel for rel in _files(package) if rel.rsplit("/", 1)[-1] in wanted]


def _configurable(folder: Path, package: Path) -> Path | None:
    """The nearest folder from ``folder`` up to ``package`` that a configure step can
    start in: a CMakeLists.txt that declares a project, or a ``configure`` script."""
    for d in [folder, *folder.parents]:
        if not d.is_relative_to(package):
            return None
        cmake = d / "CMakeLists.txt"
        if cmake.is_file() and _PROJECT.search(cmake.read_text(errors="replace")):
            return d
        if (d / "configure").is_file():
            return d
    return None


def _configure(project: Path) -> Path | None:
    """Run ``project``'s configure step once (other processes wait for it); returns the
    folder it wrote into, or None when it failed or its tool is missing."""
    with open(project / (DONE + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = project / DONE
        if not done.exists():
            done.write_text(_run_configure(project))
    if done.read_text() != "ok":
        return None
    return configured(project, project / "x")


def _run_configure(project: Path) -> str:
    """'ok', or why the configure step failed."""
    if (project / "CMakeLists.txt").is_file():
        argv = ["cmake", "-S", ".", "-B", CMAKE_BUILD, "-DCMAKE_C_COMPILER=clang-19"]
        argv += ["-DCMAKE_CXX_COMPILER=clang++-19", "-DBUILD_TESTING=OFF"]
    else:
        argv = ["sh", "./configure", "CC=clang-19", "CXX=clang++-19"]
    try:
        proc = subprocess.run(
            argv, cwd=project, capture_output=True, text=True, timeout=CONFIGURE_TIMEOUT
        )
    except FileNotFoundError:
        return f"{argv[0]} is not installed"
    except subprocess.TimeoutExpired:
        return f"{argv[0]} timed out after {CONFIGURE_TIMEOUT:g} s"
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no message"]
        return f"{' '.join(argv[:2])} failed: {tail[0]}"
    return "ok"
