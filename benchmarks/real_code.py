"""A benchmark of real code: C and C++ modules of real projects from the registries,
split by project into a tuning set and a test set.

Each project is a PyPI source distribution or an npm package that vendors a C or C++
library (nothing is committed: ``llmc corpus build`` fetches and compiles them, file by
file, with each package's header folders). The split is by project, fixed in the table
below and balanced across kinds, so no project has modules on both sides: the coreset,
the ranker and every learned choice may see ``tune`` only, and results are reported on
``test`` only. The classic compiler benchmark suites (cBench, MiBench, CHStone, NPB,
PolyBench, SPEC, the reference BLAS/LAPACK, OpenCV, TensorFlow) are not here, and
neither are the programs of the older sets (lz4, brotli: benchmarks/program_sets.py).

Files Cython generated are left out (machine-written glue, not code users write), and
each project gives at most ``--per-project`` modules (a seeded sample) so that no
library dominates a mean. Modules under ``--min-instructions`` (a few wrapper
functions, such as most of pyerfa's one-function files) are left out: -Oz is all there
is to them, and they would only dilute every mean.

The modules of each side are pinned (``--pin``, default ``real_code_pin.tsv`` beside
this script: split, project, source file and its IR instruction count per line), so
that the test set stays the same when the corpus builder learns to compile more files
of a project (a seeded sample would move) and figures of different sessions stay
comparable. A pinned
file that no longer compiles, or compiles to another module, is reported. ``--no-pin``
draws a new sample; ``--write-pin FILE`` records what was selected.

A third side, ``check`` (session 27), holds numerical projects (scipy's vendored C and
C++ libraries, PyWavelets, pykdtree, sgp4, pyfastnoisesimd): a second test side for the
family an outside judge found weak, reported apart so that ``test`` stays comparable.

Writes under OUT: ``corpus/`` (the modules, ``manifest.jsonl``), ``tune_modules.txt``,
``test_modules.txt`` and ``check_modules.txt`` (one module path, its project and kind
per line) and
``split.json`` (per project: registry spec, kind, split, modules kept).

Usage: python benchmarks/real_code.py OUT [--per-project 30] [--min-instructions 100]
       [--jobs 2] [--seed 0] [--only tune|test|check] [--pin FILE | --no-pin]
       [--write-pin FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from llmcompiler.corpus.sources import unpacked

#: (registry spec, kind, split). Versions pinned: a new release may move or drop files.
PROJECTS = (
    # compression
    ("pypi:zstandard==0.25.0", "compression", "test"),
    ("pypi:zopfli==0.4.3", "compression", "test"),
    ("pypi:pyppmd==1.3.1", "compression", "tune"),
    ("pypi:inflate64==1.0.4", "compression", "tune"),
    ("pypi:pybcj==1.0.8", "compression", "tune"),
    ("pypi:pylzma==0.6.1", "compression", "tune"),
    # cryptography and hashing
    ("pypi:pycryptodome==4.4.0", "crypto", "test"),
    ("pypi:crc32c==2.9.post0", "crypto", "test"),
    ("pypi:argon2-cffi-bindings==26.2.0", "crypto", "tune"),
    ("pypi:mmh3==5.3.1", "crypto", "tune"),
    ("pypi:pynacl==1.6.2", "crypto", "tune"),
    # parsers and serializers
    ("pypi:ujson==6.1.0", "parser", "test"),
    ("pypi:python-rapidjson==1.25", "parser", "test"),
    ("pypi:cchardet==2.4.1", "parser", "test"),
    ("pypi:ruamel.yaml.clib==0.2.15", "parser", "tune"),
    ("pypi:cmarkgfm==2025.10.22", "parser", "test"),
    ("pypi:cbor2==6.3.0", "parser", "tune"),
    ("pypi:tree-sitter==0.26.1", "parser", "tune"),
    ("pypi:pysimdjson==7.0.2", "parser", "tune"),
    ("pypi:markupsafe==3.0.4", "parser", "tune"),
    # databases
    ("pypi:lmdb==3.0.0", "database", "test"),
    ("npm:leveldown@6.1.1", "database", "tune"),
    ("pypi:unqlite==1.2.0", "database", "test"),
    # interpreters
    ("pypi:dukpy==0.6.0", "interpreter", "test"),
    ("pypi:quickjs==1.19.4", "interpreter", "tune"),
    ("pypi:lupa==2.8", "interpreter", "test"),
    # numerical
    ("pypi:pyerfa==2.0.1.5", "numerical", "test"),
    ("pypi:ecos==2.0.14", "numerical", "tune"),
    ("pypi:scs==3.3.1", "numerical", "test"),
    ("pypi:python-crfsuite==0.9.12", "numerical", "tune"),
    # image and audio codecs
    ("pypi:pylibjpeg-openjpeg==2.6.0", "codec", "test"),
    ("pypi:qoi==0.8.0", "codec", "tune"),
    ("pypi:pylibjpeg-libjpeg==2.5.0", "codec", "tune"),
    ("pypi:audioop-lts==0.2.2", "codec", "tune"),
    # C++ with templates
    ("pypi:annoy==1.17.3", "cxx-template", "test"),
    ("pypi:pyclipper==1.4.0", "cxx-template", "test"),
    ("pypi:hnswlib==0.8.0", "cxx-template", "tune"),
    ("pypi:editdistance==0.8.1", "cxx-template", "tune"),
    ("pypi:marisa-trie==1.4.1", "cxx-template", "test"),
    # data structures and text
    ("pypi:pyroaring==1.2.0", "data-structure", "test"),
    ("pypi:bitarray==3.12.3", "data-structure", "test"),
    ("pypi:regex==2026.11.19", "data-structure", "tune"),
    ("pypi:intbitset==4.1.2", "data-structure", "test"),
    ("pypi:datrie==0.8.3", "data-structure", "tune"),
    ("pypi:pyahocorasick==2.3.1", "data-structure", "tune"),
    # network protocols
    ("pypi:httptools==0.9.0", "network", "test"),
    ("pypi:uvloop==0.23.0", "network", "test"),
    ("pypi:pycares==5.2.1", "network", "tune"),
    ("pypi:multidict==7.2.1", "network", "tune"),
    ("pypi:websockets==17.4", "network", "tune"),
    # Added in session 12, after the first split was drawn: at the end, so that the
    # seeded sample of every project above is drawn as before.
    ("pypi:deflate==0.9.0", "compression", "tune"),
    ("pypi:isal==1.9.1", "compression", "tune"),
    ("pypi:xxhash==4.1.0", "crypto", "tune"),
    ("pypi:scrypt==0.9.4", "crypto", "tune"),
    ("pypi:crcmod==1.7", "crypto", "tune"),
    ("pypi:ciso8601==2.4.1", "parser", "tune"),
    ("pypi:simplejson==4.3.0", "parser", "tune"),
    ("pypi:msgpack==1.2.4", "parser", "tune"),
    ("pypi:jq==1.13.0", "interpreter", "tune"),
    ("pypi:liblinear-official==2.50.0", "numerical", "tune"),
    ("pypi:libsvm-official==3.37.0", "numerical", "tune"),
    ("pypi:qdldl==0.1.9.post1", "numerical", "tune"),
    ("pypi:pillow==13.0.0", "codec", "tune"),
    ("pypi:pybase64==1.5.1", "codec", "tune"),
    ("pypi:blurhash==1.1.5", "codec", "tune"),
    ("pypi:kiwisolver==1.5.1", "cxx-template", "tune"),
    ("pypi:fasttext==0.9.3", "cxx-template", "tune"),
    ("pypi:youtokentome==1.0.6", "cxx-template", "tune"),
    ("pypi:levenshtein==0.27.5", "cxx-template", "tune"),
    ("pypi:sentencepiece==0.2.3", "cxx-template", "tune"),
    ("pypi:immutables==0.21", "data-structure", "tune"),
    ("pypi:lru-dict==1.4.1", "data-structure", "tune"),
    ("pypi:pyrsistent==0.20.0", "data-structure", "tune"),
    ("pypi:http-parser==0.9.0", "network", "tune"),
    ("pypi:netifaces==0.11.0", "network", "tune"),
    # Session 27: a further test side, ``check``, of numerical code (the family an
    # outside judge found weak): sparse LU, ODE solvers, splines, convex hulls, FFT,
    # wavelets, kd-trees, orbit propagation, noise generation. Never learned from; kept
    # apart from ``test`` so that the test figures of earlier sessions stay comparable.
    ("pypi:scipy==1.18.1", "numerical", "check"),
    ("pypi:PyWavelets==1.10.0", "numerical", "check"),
    ("pypi:pykdtree==1.4.3", "numerical", "check"),
    ("pypi:sgp4==2.27", "numerical", "check"),
    ("pypi:pyfastnoisesimd==0.4.2", "numerical", "check"),
)
#: the sides of the split: learned from, reported, reported apart (numerical code)
SPLITS = ("tune", "test", "check")
#: what Cython writes at the top of the C it generates
CYTHON_MARK = b"Generated by Cython"
#: the modules of each side (test: session 9's draw; tune: the 447 programs the size
#: ranker of session 13 was fitted on)
PIN = Path(__file__).with_name("real_code_pin.tsv")


def project_of(entry: dict) -> str:
    """The spec of the project a manifest entry came from (``pypi:NAME`` or ``npm:NAME``)."""
    return entry["source"]


def source_file(corpus: Path, entry: dict) -> Path:
    """The source file a module was compiled from, where the corpus builder unpacked it
    (``sources/pypi/NAME-VERSION/...``, ``sources/npm/NAME-VERSION/package/...``)."""
    requirement, _, rel = entry["origin"].partition(":")
    registry = entry["source"].partition(":")[0]
    root = unpacked(f"{registry}:{requirement}", corpus / "sources")
    return root / "package" / rel if registry == "npm" else root / rel


def spec_name(spec: str) -> str:
    """``pypi:zstandard==0.25.0`` -> ``pypi:zstandard``; ``npm:leveldown@6.1.1`` ->
    ``npm:leveldown``."""
    registry, _, rest = spec.partition(":")
    name = rest.split("==")[0] if registry == "pypi" else rest.rsplit("@", 1)[0]
    return f"{registry}:{name.lower()}"


def build(out: Path, specs: list[str], jobs: int) -> int:
    """``llmc corpus build`` of ``specs`` into ``out/corpus`` (resumed when present);
    returns its exit status (1: some files did not compile, as expected of best-effort
    builds of packages without their configure step)."""
    llmc = Path(sys.executable).parent / "llmc"
    argv = [str(llmc), "corpus", "build", "-o", str(out / "corpus"), "-j", str(jobs)]
    for spec in specs:
        argv += ["--from", spec]
    print("$", " ".join(argv), file=sys.stderr, flush=True)
    return subprocess.call(argv)


def read_pin(path: Path) -> dict[str, tuple[str, str, str]]:
    """A pin file's modules: source origin -> (split, project, IR instructions). Raises
    ValueError on a line that is not split, project, origin and a count separated by tabs,
    or that puts a project of the table on the other side of the split.

    The count (of the module as clang wrote it) tells a file that now compiles to another
    module; a hash of the bitcode would not do, since it holds the build folder's path."""
    sides = {spec_name(s): split for s, _, split in PROJECTS}
    pinned = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4 or fields[0] not in SPLITS or not fields[3].isdigit():
            raise ValueError(
                f"{path}:{n}: expected 'split<TAB>project<TAB>origin<TAB>instructions'"
            )
        split, project, origin, count = fields
        if sides.get(project, split) != split:
            raise ValueError(f"{path}:{n}: the pin puts {project} on the other side of the split")
        pinned[origin] = (split, project, count)
    return pinned


def write_pin(path: Path, kept: dict[str, list[dict]], splits: dict[str, str]) -> None:
    """Record the modules kept per project (``select``'s choice) as a pin file."""
    lines = ["# split\tproject\torigin (requirement:file)\tIR instructions (as clang wrote them)"]
    for name, entries in kept.items():
        lines += [f"{splits[name]}\t{name}\t{e['origin']}\t{e['instcount']}" for e in entries]
    path.write_text("\n".join(lines) + "\n")


def select(
    out: Path,
    per_project: int,
    seed: int,
    min_instructions: int = 0,
    pin: dict[str, tuple[str, str, str]] | None = None,
) -> tuple[dict, dict[str, list[dict]]]:
    """Write the tune and test module lists from the corpus manifest; returns the
    per-project summary written to split.json and the entries kept per project.

    Without ``pin``, a seeded sample of at most ``per_project`` modules per project,
    leaving out modules of fewer than ``min_instructions`` IR instructions (as clang
    wrote them, before any pass) and files Cython generated. With ``pin``, exactly the
    pinned files of the projects built; the summary lists under ``missing`` the pinned
    files that did not compile and under ``changed`` those that compiled to another
    module."""
    corpus = out / "corpus"
    entries = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    kinds = {spec_name(s): (s, kind, split) for s, kind, split in PROJECTS}
    by_project: dict[str, list[dict]] = defaultdict(list)
    seen: set[str] = set()  # origins kept under a pin (a file is one module)
    for e in entries:
        if project_of(e) not in kinds:
            continue
        if pin is not None:
            if e["origin"] in pin and e["origin"] not in seen:
                seen.add(e["origin"])
                by_project[project_of(e)].append(e)
            continue
        if (e.get("instcount") or 0) < max(1, min_instructions):
            continue
        source = source_file(corpus, e)
        head = source.read_bytes()[:400] if source.is_file() else b""
        if CYTHON_MARK in head:
            continue
        by_project[project_of(e)].append(e)
    built = {project_of(e) for e in entries}
    rng = random.Random(seed)
    summary, chosen, lists = {}, {}, {split: [] for split in SPLITS}
    for name, (spec, kind, split) in kinds.items():
        found = sorted(by_project.get(name, []), key=lambda e: e["id"])
        row = {"spec": spec, "kind": kind, "split": split, "compiled": len(found)}
        if pin is not None:
            wanted = {o: v for o, v in pin.items() if v[1] == name}
            kept = found
            if name in built:
                got = {e["origin"]: str(e["instcount"]) for e in found}
                row["missing"] = sorted(o for o in wanted if o not in got)
                row["changed"] = sorted(o for o in got if got[o] != wanted[o][2])
        else:
            kept = (
                sorted(rng.sample(found, per_project), key=lambda e: e["id"])
                if len(found) > per_project
                else found
            )
        row["kept"] = len(kept)
        summary[name], chosen[name] = row, kept
        for e in kept:
            lists[split].append(f"{corpus / e['path']}\t{name}\t{kind}")
    for split, lines in lists.items():
        (out / f"{split}_modules.txt").write_text("".join(f"{ln}\n" for ln in lines))
    (out / "split.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary, chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--per-project", type=int, default=30, help="modules kept per project")
    ap.add_argument(
        "--min-instructions",
        type=int,
        default=100,
        help="leave out smaller modules (IR instructions before any pass; ~50 after -Oz): "
        "a few wrapper functions, where no pass list can differ from -Oz",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=SPLITS, help="build one side only")
    ap.add_argument("--pin", type=Path, default=PIN, help="keep exactly these modules")
    ap.add_argument("--no-pin", action="store_true", help="draw a new seeded sample")
    ap.add_argument("--write-pin", type=Path, metavar="FILE", help="record the selection")
    args = ap.parse_args(argv)
    if not args.no_pin and not args.pin.is_file():
        ap.error(f"no pin file {args.pin} (--no-pin draws a new sample)")
    try:
        pin = None if args.no_pin else read_pin(args.pin)
    except ValueError as e:
        ap.error(str(e))
    specs = [s for s, _, split in PROJECTS if args.only in (None, split)]
    build(args.out, specs, args.jobs)
    summary, chosen = select(args.out, args.per_project, args.seed, args.min_instructions, pin)
    if args.write_pin:
        write_pin(args.write_pin, chosen, {n: row["split"] for n, row in summary.items()})
    counts: Counter[str] = Counter()
    projects: Counter[str] = Counter()
    for name, row in summary.items():
        print(
            f"{row['split']:<5} {row['kind']:<15} {name:<32} compiled {row['compiled']:>4}  "
            f"kept {row['kept']:>3}"
        )
        counts[row["split"]] += row["kept"]
        projects[row["split"]] += row["kept"] > 0
        for what in ("missing", "changed"):
            for origin in row.get(what, []):
                print(f"  pinned file {what}: {origin}", file=sys.stderr)
    for split in SPLITS:
        print(f"{split}: {counts[split]} modules from {projects[split]} projects")
    return 0


if __name__ == "__main__":
    sys.exit(main())
