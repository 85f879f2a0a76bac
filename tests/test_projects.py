"""Real C projects built by their own build systems (benchmarks/projects.py): fetched from
the package registries, built with clang-19 -Oz, and checked by their tests or workload.

Lua (a plain makefile, about 30 s with the fetch) runs by default; SQLite (autotools) and
zlib-ng (CMake), about a minute each, are marked slow. Each skips when the registry
cannot be reached.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_projects():
    spec = importlib.util.spec_from_file_location("projects", ROOT / "benchmarks" / "projects.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


projects = _load_projects()


def _fetch(name: str, dest: Path) -> Path:
    try:
        return projects.fetch(name, dest)
    except projects.FetchError as err:
        if err.unreachable:
            pytest.skip(f"the package registry is unreachable: {err}")
        raise


def _build_and_check(name: str, tmp_path: Path):
    src = _fetch(name, tmp_path / "src")
    build = projects.build(name, src, tmp_path / "build", "clang-19", "-Oz")
    sizes = [projects.binary_size(b) for b in build.binaries]
    assert len(sizes) == len(projects.PROJECTS[name].binaries)
    assert all(size > 1000 for size in sizes), sizes
    result = projects.check(name, build.out)
    assert result.passed, result.output[-3000:]
    return build


def test_lua_builds_with_its_makefile_at_oz_and_passes_its_tests(tmp_path):
    build = _build_and_check("lua", tmp_path)
    compiles = [line for line in build.log.read_text().splitlines() if " -c " in line]
    assert len(compiles) >= 30
    # the makefile's own -O2 and -march=native are replaced by -Oz; its warnings stay
    assert all(" -Oz " in line and "-O2" not in line for line in compiles)
    assert all("-march" not in line and "-Wextra" in line for line in compiles)
    # a second fetch finds the manifest and downloads nothing: a file removed stays removed
    src = tmp_path / "src" / "lua" / "lupa-2.8" / "third-party" / "lua54"
    (src / "README.md").unlink()
    assert _fetch("lua", tmp_path / "src") == src
    assert not (src / "README.md").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sqlite", "zlib-ng"])
def test_autotools_and_cmake_projects_build_at_oz_and_pass(name, tmp_path):
    _build_and_check(name, tmp_path)


def test_a_wrong_workload_output_fails_the_check(tmp_path):
    expected = tmp_path / "workload.expected"
    expected.write_text("primes 3\n")
    result = projects._compare("lua", "primes 4\n", expected)
    assert not result.passed
    assert "-primes 3" in result.output and "+primes 4" in result.output


def test_llmc_mode_names_the_missing_compiler(tmp_path):
    with pytest.raises(projects.ProjectError, match=r"--llmc needs the drop-in compiler"):
        projects.llmc_cc(tmp_path)


def test_unknown_project_is_a_usage_error(tmp_path, capsys):
    assert projects.main(["--projects", "nosuch", "--work", str(tmp_path)]) == 2
    assert "unknown project 'nosuch'" in capsys.readouterr().err


def test_cmake_gets_llmc_cc_as_its_own_script():
    args, env = projects.cmake_compiler("/venv/bin/llmc cc")
    assert (args, env) == (["-DCMAKE_C_COMPILER=/venv/bin/llmc-cc"], {})
    assert projects.cmake_compiler("clang-19 -m32") == ([], {"CC": "clang-19 -m32"})


def test_unknown_mode_and_cross_builds_a_project_cannot_check(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        projects.main(["--modes", "clang,hot", "--work", str(tmp_path)])
    assert stop.value.code == 2
    assert "unknown mode 'hot'; known: clang, cold, warm, tuned, clang-lto, lto" in (
        capsys.readouterr().err
    )
    argv = ["--projects", "zlib-ng", "--target", "aarch64-linux-gnu", "--work", str(tmp_path)]
    assert projects.main(argv) == 2
    said = capsys.readouterr().err
    assert said.startswith("error: --target") and "zlib-ng" in said
