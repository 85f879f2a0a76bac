"""``llmc corpus build``: real clang-19 on fixture programs; manifest facts equal what
the tools say, bad files are skipped and counted, duplicates stored once, re-runs resume."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.corpus import store
from llmcompiler.corpus.build import CorpusConfig, build_corpus
from llmcompiler.llvm.toolchain import count_text_instructions, tool
from llmcompiler.program import load_program

FILES = ["loops.c", "switch.c", "inline_def.c", "exits_nonzero.c", "broken.c"]


@pytest.fixture
def sources(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in FILES:
        shutil.copy(FIXTURES / name, src / name)
    shutil.copy(FIXTURES / "loops.c", src / "loops_again.c")  # same code, another name
    return src


def _build(sources, out, **kw):
    return list(build_corpus([str(sources)], out, CorpusConfig(jobs=2, **kw)))


def test_manifest_matches_the_tools_and_bad_files_are_counted(sources, tmp_path):
    out = tmp_path / "corpus"
    events = _build(sources, out)
    kinds = {e.item.id.rsplit("/", 1)[1]: e.kind for e in events}
    assert kinds == {
        "broken.c": "failed",
        "exits_nonzero.c": "added",
        "inline_def.c": "added",
        "loops.c": "added",
        "loops_again.c": "duplicate",
        "switch.c": "added",
    }
    entries = {e.id.rsplit("/", 1)[1]: e for e in store.read_manifest(out)}
    assert set(entries) == {"exits_nonzero.c", "inline_def.c", "loops.c", "switch.c"}
    for name, entry in entries.items():
        program = load_program(FIXTURES / name)
        assert entry.hash == program.hash
        assert entry.load(out).hash == program.hash
        text = subprocess.run(
            [tool("llvm-dis"), "-o", "-", str(out / entry.path)], capture_output=True, check=True
        ).stdout.decode()
        assert entry.instcount == count_text_instructions(text)
        assert entry.source == "local" and entry.origin == str(sources / name)
    assert entries["loops.c"].runnable and entries["loops.c"].has_main
    assert entries["exits_nonzero.c"].has_main and not entries["exits_nonzero.c"].runnable
    assert not entries["inline_def.c"].runnable
    failures = [json.loads(line) for line in (out / store.FAILURES).read_text().splitlines()]
    broken = next(f for f in failures if f["id"].endswith("broken.c"))
    assert "compilation failed" in broken["error"] and "error:" in broken["error"]
    assert any(f.get("duplicate_of", "").endswith("/loops.c") for f in failures)
    info = store.read_info(out)
    assert info["counts"]["modules"] == 4 and info["counts"]["failed"] == 1
    assert info["counts"]["duplicates"] == 1 and info["llvm_version"].startswith("19.")


def test_rerun_skips_what_is_done_and_adds_new_files(sources, tmp_path):
    out = tmp_path / "corpus"
    _build(sources, out, check_runnable=False)
    shutil.copy(FIXTURES / "recursion.c", sources / "recursion.c")
    events = _build(sources, out, check_runnable=False)
    assert [e.item.id.rsplit("/", 1)[1] for e in events if e.kind == "added"] == ["recursion.c"]
    assert sum(e.kind == "skipped" for e in events) == len(FILES) + 1
    assert len(store.read_manifest(out)) == 5
    # a module file lost since (e.g. an interrupted copy) is rebuilt
    lost = store.read_manifest(out)[0]
    (out / lost.path).unlink()
    events = _build(sources, out, check_runnable=False)
    assert [e.item.id for e in events if e.kind != "skipped"] == [lost.id]


def test_csmith_source(tmp_path):
    if shutil.which("csmith") is None:
        pytest.skip("csmith is not installed")
    out = tmp_path / "corpus"
    events = list(build_corpus(["csmith:2:7"], out, CorpusConfig(jobs=1, run_timeout=10)))
    assert [e.item.id for e in events] == ["csmith/csmith_7.c", "csmith/csmith_8.c"]
    entries = store.read_manifest(out)
    assert all(
        e.has_main and e.source == "csmith" and "seed 7" in entries[0].origin for e in entries
    )


def test_cli_build_and_info(sources, tmp_path, capsys):
    out = tmp_path / "corpus"
    assert main(["corpus", "build", "--from", str(sources), "-o", str(out), "--no-run-check"]) == 0
    err = capsys.readouterr().err
    assert "llmc: skipped local/src/broken.c: " in err and "compilation failed:" in err
    assert "6 files: 4 added, 1 duplicates, 1 failed, 0 done before" in err
    assert main(["corpus", "info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["modules"] == 4
    assert main(["corpus", "info", str(sources)]) == 1
    assert "not a corpus directory (no manifest.jsonl)" in capsys.readouterr().err
    assert main(["corpus", "build", "--from", "csmith:x", "-o", str(out)]) == 1
    assert "csmith:x: expected csmith:N[:SEED]" in capsys.readouterr().err
    assert main(["corpus", "build", "--from", str(tmp_path / "nope"), "-o", str(out)]) == 1
    assert "no such file or directory" in capsys.readouterr().err


def test_ray_build(sources, tmp_path):
    pytest.importorskip("ray")
    import ray

    out = tmp_path / "corpus"
    try:
        events = list(
            build_corpus([str(sources)], out, CorpusConfig(check_runnable=False), "local")
        )
    finally:
        ray.shutdown()
    assert sorted(e.kind for e in events) == ["added"] * 4 + ["duplicate", "failed"]
    assert len(store.read_manifest(out)) == 4


def _package_item(package, rel: str, headers: list[str]):
    from llmcompiler.corpus.sources import Item

    path = package / rel
    dirs = (str(path.parent), *(str(package / h) for h in headers))
    return Item(
        id=f"t/{rel}",
        source="t",
        origin=rel,
        path=str(path),
        include_dirs=dirs,
        flags=("-w",),
        run=False,
        package=str(package),
    )


def test_a_package_file_finds_the_headers_its_folders_miss(tmp_path):
    """``#include "lib/x.h"`` where no folder of headers is the one above ``lib/``: the
    builder finds it in the package (the nearest one to the file) and compiles again;
    without a package to look in, clang's error stands."""
    from dataclasses import replace

    from llmcompiler.corpus.build import compile_item

    package = tmp_path / "pkg"
    for folder, value in (("include/lib", 7), ("vendor/old/lib", 9)):
        (package / folder).mkdir(parents=True)
        (package / folder / "x.h").write_text(f"#define X {value}\n")
    (package / "include" / "src").mkdir()
    (package / "include" / "src" / "a.c").write_text('#include "lib/x.h"\nint a(void){return X;}\n')
    item = _package_item(package, "include/src/a.c", ["include/lib", "vendor/old/lib"])
    result = compile_item(item, CorpusConfig())
    assert result["ok"], result
    from llmcompiler.llvm import Module

    with Module.parse(result["bitcode"], "a") as module:
        assert "ret i32 7" in module.to_text()  # include/lib, nearer to the file than vendor/
    failed = compile_item(replace(item, package=""), CorpusConfig())
    assert not failed["ok"] and "'lib/x.h' file not found" in failed["error"]


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
def test_a_generated_header_comes_from_the_package_configure_step(tmp_path):
    """A header the package's CMake step writes (``cfg.h`` from ``cfg.h.in``): the step
    runs once, the file compiles with what it wrote, and another file of the project that
    needs ``HAVE_CONFIG_H``, as its build gives it, compiles too."""
    from llmcompiler.corpus.build import compile_item
    from llmcompiler.corpus.headers import DONE
    from llmcompiler.llvm import Module

    project = tmp_path / "pkg" / "lib"
    (project / "src").mkdir(parents=True)
    (project / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.10)\nproject(t C)\nset(ANSWER 42)\n"
        "configure_file(cfg.h.in cfg.h)\n"
    )
    (project / "cfg.h.in").write_text("#define ANSWER @ANSWER@\n")
    (project / "src" / "a.c").write_text('#include "cfg.h"\nint a(void){return ANSWER;}\n')
    (project / "src" / "b.c").write_text(
        '#ifdef HAVE_CONFIG_H\n#include "cfg.h"\n#else\n#error needs its configure step\n'
        "#endif\nint b(void){return ANSWER + 1;}\n"
    )
    package = tmp_path / "pkg"
    for name, value in (("a.c", 42), ("b.c", 43)):
        result = compile_item(_package_item(package, f"lib/src/{name}", []), CorpusConfig())
        assert result["ok"], result
        with Module.parse(result["bitcode"], name) as module:
            assert f"ret i32 {value}" in module.to_text()
    assert (project / DONE).read_text() == "ok"
