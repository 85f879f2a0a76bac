"""Building a corpus: compile every item of the sources into a module, in parallel
(local processes or Ray tasks), drop duplicates by content hash, and record each module
in the manifest as soon as it is done, so that an interrupted build resumes where it
stopped and a re-run skips what is done.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from llmcompiler.corpus import store
from llmcompiler.corpus.headers import configured, include_dir_for, missing_header
from llmcompiler.corpus.sources import Item, expand
from llmcompiler.engine import parallel
from llmcompiler.errors import CompileError, LLMCError
from llmcompiler.llvm import Module, version
from llmcompiler.llvm.toolchain import compile_source
from llmcompiler.program import IR_SUFFIXES, Program, program_from_ir
from llmcompiler.search.validate import RunSpec, Validator

#: compilations of one file after the first, each with one more folder for a missing header
MAX_HEADER_RETRIES = 8
HAVE_CONFIG_H = "HAVE_CONFIG_H"  # what a configured project's files are compiled with


@dataclass(frozen=True)
class CorpusConfig:
    """Settings of a corpus build.

    Attributes:
        jobs: items compiled at once (local processes).
        check_runnable: build and run programs with ``main`` at -O0 to mark them runnable.
        run_timeout: seconds such a run may take (csmith programs can loop for long).
        compile_timeout: seconds clang may take on one file.
        flags: clang flags for every source, after the source's own (e.g. ``--target=``
            ``thumbv7em-none-eabi -mcpu=cortex-m4``: a corpus for that target).
    """

    jobs: int = 1
    check_runnable: bool = True
    run_timeout: float = 5.0
    compile_timeout: float = 120.0
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    """What happened to one item: ``added``, ``duplicate``, ``failed`` or ``skipped``
    (done by an earlier build)."""

    kind: str
    item: Item
    detail: str = ""


def compile_item(item: Item, config: CorpusConfig) -> dict:
    """Compile one item (in a worker). Returns a dict: ``ok`` with ``bitcode``, ``hash``,
    ``instcount``, ``has_main``, ``runnable``, or ``ok: False`` with ``error``."""
    try:
        if Path(item.path).suffix in IR_SUFFIXES:
            data = Path(item.path).read_bytes()
        else:
            data = _compile(item, config)
        program = program_from_ir(data, item.id)
        with Module.parse(program.bitcode, item.id) as module:
            instcount = module.instruction_count()
    except LLMCError as err:
        return {"ok": False, "error": _diagnosis(str(err))}
    except OSError as err:
        return {"ok": False, "error": f"{item.path}: {err.strerror}"}
    runnable = False
    if item.run and program.has_main and config.check_runnable:
        runnable = _runs(program, config.run_timeout)
    return {
        "ok": True,
        "bitcode": program.bitcode,
        "hash": program.hash,
        "instcount": instcount,
        "has_main": program.has_main,
        "runnable": runnable,
        "triple": program.triple,
    }


def _compile(item: Item, config: CorpusConfig) -> bytes:
    """clang's bitcode for a source item. A file of a package that misses a header is
    compiled again with the package's folder that has it (or after the package's
    configure step wrote it), and a file of a configured project that still fails, again
    with ``-DHAVE_CONFIG_H``: up to MAX_HEADER_RETRIES more times. Files that compile at
    once are compiled exactly as before.

    Raises:
        CompileError: clang's diagnostics of the last attempt.
    """
    include_dirs, defines = list(item.include_dirs), []
    package, source = Path(item.package), Path(item.path)
    for attempt in range(MAX_HEADER_RETRIES + 1):
        try:
            return compile_source(
                item.path,
                include_dirs,
                defines,
                (*item.flags, *config.flags),
                timeout=config.compile_timeout,
            )
        except CompileError as err:
            if not item.package or attempt == MAX_HEADER_RETRIES:
                raise
            name = missing_header(str(err))
            found = include_dir_for(package, name, source) if name else None
            if found is not None and str(found) not in include_dirs:
                include_dirs.append(str(found))
                continue
            written = configured(package, source)
            if written is None or HAVE_CONFIG_H in defines:
                raise
            defines.append(HAVE_CONFIG_H)
            include_dirs += [str(written)] if str(written) not in include_dirs else []
    raise AssertionError("unreachable")


def _runs(program: Program, timeout: float) -> bool:
    """Whether the -O0 build links and exits 0 within ``timeout`` seconds."""
    try:
        validator = Validator(program, RunSpec(timeout=timeout))
    except LLMCError:  # does not link
        return False
    try:
        return validator.expected.returncode == 0
    finally:
        validator.close()


def _diagnosis(text: str, limit: int = 500) -> str:
    """The first line of an error and clang's first ``error:`` line (the lines between,
    "In file included from ...", say where but not what)."""
    lines = text.strip().splitlines()
    first_error = next((ln for ln in lines[1:] if "error:" in ln), None)
    if first_error is None:
        return _first_lines(text, limit=limit)
    return "\n".join([lines[0], first_error.strip()])[:limit]


def _first_lines(text: str, lines: int = 3, limit: int = 500) -> str:
    return "\n".join(text.strip().splitlines()[:lines])[:limit]


def build_corpus(
    specs: Sequence[str],
    out: str | os.PathLike,
    config: CorpusConfig = CorpusConfig(),
    ray_address: str | None = None,
    on_total=None,
) -> Iterator[Event]:
    """Build (or continue building) the corpus in ``out`` from source ``specs``.

    Yields one Event per item, in item order. ``on_total(n)`` is called with the number
    of items once the specs are expanded. Writes ``corpus.json`` at the end.

    Raises:
        InputError: a spec is unknown or its source cannot be fetched.
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / "sources"
    items = [item for spec in specs for item in expand(spec, scratch)]
    items = list({item.id: item for item in items}.values())
    if on_total is not None:
        on_total(len(items))
    done_ids, hashes = _done(root)
    todo = [item for item in items if item.id not in done_ids]
    for item in items:
        if item.id in done_ids:
            yield Event("skipped", item)
    results = _run(todo, config, ray_address)
    with (
        open(root / store.MANIFEST, "a") as manifest,
        open(root / store.FAILURES, "a") as failures,
    ):
        for item, result in zip(todo, results):
            if not result["ok"]:
                failures.write(json.dumps({"id": item.id, "error": result["error"]}) + "\n")
                failures.flush()
                yield Event("failed", item, result["error"])
                continue
            digest = result["hash"]
            if digest in hashes:
                line = {"id": item.id, "duplicate_of": hashes[digest]}
                failures.write(json.dumps(line) + "\n")
                failures.flush()
                yield Event("duplicate", item, hashes[digest])
                continue
            path = store.module_path(digest)
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            tmp = root / (path + ".tmp")
            tmp.write_bytes(result["bitcode"])
            tmp.replace(root / path)
            entry = store.CorpusEntry(
                id=item.id,
                source=item.source,
                origin=item.origin,
                path=path,
                hash=digest,
                instcount=result["instcount"],
                has_main=result["has_main"],
                runnable=result["runnable"],
                license=item.license,
                triple=result["triple"],
            )
            manifest.write(entry.to_json() + "\n")
            manifest.flush()
            hashes[digest] = item.id
            yield Event("added", item)
    write_info(root, specs, config)


def _done(root: Path) -> tuple[set[str], dict[str, str]]:
    """Ids already handled by an earlier build, and hash -> id of the stored modules."""
    ids: set[str] = set()
    hashes: dict[str, str] = {}
    if (root / store.MANIFEST).exists():
        for entry in store.read_manifest(root):
            if (root / entry.path).is_file():
                ids.add(entry.id)
                hashes.setdefault(entry.hash, entry.id)
    if (root / store.FAILURES).exists():
        for line in (root / store.FAILURES).read_text().splitlines():
            if line.strip():
                ids.add(json.loads(line)["id"])
    return ids, hashes


def write_info(root: Path, specs: Sequence[str], config: CorpusConfig) -> dict:
    """Write ``corpus.json``: schema, LLVM version, sources, config and counts."""
    entries = store.read_manifest(root) if (root / store.MANIFEST).exists() else []
    failed = duplicates = 0
    if (root / store.FAILURES).exists():
        for line in (root / store.FAILURES).read_text().splitlines():
            if line.strip():
                if "duplicate_of" in json.loads(line):
                    duplicates += 1
                else:
                    failed += 1
    previous = store.read_info(root).get("sources", [])
    info = {
        "schema_version": store.SCHEMA_VERSION,
        "llvm_version": ".".join(map(str, version())),
        "sources": list(dict.fromkeys([*previous, *specs])),
        "config": asdict(config),
        "counts": {
            "modules": len(entries),
            "by_source": dict(sorted(Counter(e.source for e in entries).items())),
            "has_main": sum(e.has_main for e in entries),
            "runnable": sum(e.runnable for e in entries),
            "instructions": sum(e.instcount for e in entries),
            "failed": failed,
            "duplicates": duplicates,
        },
    }
    (root / store.INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return info


def _compile_job(job: tuple[Item, CorpusConfig]) -> dict:
    return compile_item(*job)


def _run(todo: list[Item], config: CorpusConfig, ray_address: str | None) -> Iterator[dict]:
    """Results in item order, from local processes or Ray tasks; an item whose process
    died (or whose task failed) gets a failed result and the rest go on."""
    jobs = [(item, config) for item in todo]
    if ray_address:
        results = parallel.ordered_ray(_compile_job, jobs, ray_address)
    else:
        results = parallel.ordered_local(_compile_job, jobs, config.jobs)
    for _, result in results:
        if isinstance(result, BaseException):
            yield {
                "ok": False,
                "error": f"the compiling process failed: {_first_lines(str(result), 1)}",
            }
        else:
            yield result
