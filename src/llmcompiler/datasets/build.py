"""Building a task dataset from a corpus directory.

Output directory::

    OUT/manifest.json     schema and LLVM versions, generator config, corpus hash,
                          counts per split, dropped and failed counts (written last)
    OUT/train.jsonl ...   one record per line, per split (names from the config)
    OUT/errors.jsonl      one line per module that gave no records, and why
    OUT/train.parquet ... the same records, with --parquet

Each module is turned into records independently (local processes, or Ray tasks), so
one bad module only adds a line to ``errors.jsonl``. Records are written in a fixed
order (modules by corpus id, then record index) and nothing in the output depends on
time, the machine or the parallelism: two builds with the same corpus and config give
byte-identical files (a list that times out is the exception: timeouts depend on load).

Splits are by program: a module's hash and the seed decide its split, so no program
has records in two splits.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmcompiler import parallel
from llmcompiler.corpus.store import CorpusEntry, read_info, read_manifest
from llmcompiler.datasets.disassembly import TARGET, disassembly_records
from llmcompiler.datasets.emulation import EmulationConfig, emulation_records
from llmcompiler.datasets.flag_tuning import FlagTuningConfig, flag_tuning_records, read_labels
from llmcompiler.datasets.tokens import SPECIAL_TOKENS, EstimateTokenizer, Tokenizer
from llmcompiler.errors import InputError, LLMCError, LLVMNotFoundError
from llmcompiler.evaluate import Evaluator
from llmcompiler.llvm import version

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
ERRORS = "errors.jsonl"
TASKS = ("emulation", "flag-tuning", "disassembly")
DEFAULT_SPLITS = (("train", 0.9), ("val", 0.05), ("test", 0.05))


@dataclass(frozen=True)
class DatasetConfig:
    """What a dataset holds. Everything here is recorded in the manifest; settings that
    do not change the output (processes, Ray) are not.

    Attributes:
        task: "emulation", "flag-tuning" or "disassembly".
        seed: decides the emulation pass lists and each program's split.
        splits: (name, fraction) pairs, fractions summing to 1; the paper-like default
            is 90 % train, 5 % validation, 5 % test (by program, not by record).
        max_tokens: drop records whose prompt + completion + BOS/EOS exceed this many
            tokens (None: keep all); the released models' context is 16k.
        timeout: seconds one evaluation may take before the pass list (emulation) or
            the module (other tasks) is given up.
        emulation: pass-list settings (emulation only).
        flag_tuning: where labels come from (flag tuning only).
    """

    task: str
    seed: int = 0
    splits: tuple[tuple[str, float], ...] = DEFAULT_SPLITS
    max_tokens: int | None = None
    #: use a seeded sample of at most this many corpus modules (None: all of them)
    max_modules: int | None = None
    timeout: float = 60.0
    emulation: EmulationConfig = field(default_factory=EmulationConfig)
    flag_tuning: FlagTuningConfig | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {self.task!r}")
        if self.task == "flag-tuning" and self.flag_tuning is None:
            raise ValueError("flag tuning needs a FlagTuningConfig (labels)")
        names = [name for name, _ in self.splits]
        if not names or len(set(names)) != len(names):
            raise ValueError("split names must be unique and at least one")
        for name, fraction in self.splits:
            if not name.isidentifier() or fraction < 0:
                raise ValueError(f"bad split {name}={fraction}")
        if abs(sum(f for _, f in self.splits) - 1.0) > 1e-6:
            raise ValueError("split fractions must sum to 1")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError("max_tokens must be positive")

    def generator(self) -> dict:
        """The settings that decide the output, for the manifest."""
        out = {"task": self.task, "seed": self.seed, "splits": dict(self.splits)}
        out["max_tokens"] = self.max_tokens
        if self.max_modules is not None:
            out["max_modules"] = self.max_modules
        out["timeout"] = self.timeout
        if self.task == "emulation":
            out["emulation"] = asdict(self.emulation)
        if self.task == "flag-tuning":
            out["flag_tuning"] = asdict(self.flag_tuning)
        return out


def parse_splits(text: str) -> tuple[tuple[str, float], ...]:
    """Parse ``train=0.9,val=0.05,test=0.05``.

    Raises:
        ValueError: malformed text (fractions are checked by DatasetConfig).
    """
    out = []
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"split {item!r} is not NAME=FRACTION")
        try:
            out.append((name.strip(), float(value)))
        except ValueError:
            raise ValueError(f"split {item!r}: {value!r} is not a number") from None
    return tuple(out)


def assign_split(digest: str, seed: int, splits: tuple[tuple[str, float], ...]) -> str:
    """The split of the program with this hash: sha256(seed:hash) as a number in [0, 1)
    against the cumulative fractions."""
    key = hashlib.sha256(f"{seed}:{digest}".encode()).digest()
    u = int.from_bytes(key[:8], "big") / 2**64
    total = 0.0
    for name, fraction in splits:
        total += fraction
        if u < total:
            return name
    return splits[-1][0]


def _seeded(seed: int, digest: str) -> str:
    return hashlib.sha256(f"sample:{seed}:{digest}".encode()).hexdigest()


def corpus_hash(entries: list[CorpusEntry]) -> str:
    """sha256 (hex) of the corpus's sorted module hashes, one per line."""
    lines = "".join(f"{h}\n" for h in sorted(e.hash for e in entries))
    return hashlib.sha256(lines.encode()).hexdigest()


# -- one module -----------------------------------------------------------------


@dataclass(frozen=True)
class ModuleJob:
    """One module to turn into records (picklable: sent to processes and Ray tasks)."""

    entry: CorpusEntry
    root: str
    config: DatasetConfig
    label: str | None = None  # flag tuning: the stored best list


@dataclass(frozen=True)
class ModuleOutcome:
    """A module's records (without split and token fields), lists skipped, or its error."""

    program: str
    hash: str
    records: tuple[dict, ...] = ()
    skipped: dict = field(default_factory=dict)  # emulation: failure status -> lists
    error: str | None = None


def generate_module(job: ModuleJob, evaluator: Evaluator) -> ModuleOutcome:
    """Load one module and make its records. Never raises for a bad module.

    Raises:
        LLVMNotFoundError: an LLVM tool is missing (no module can succeed).
    """
    entry, config = job.entry, job.config
    skipped: dict[str, int] = {}
    try:
        program = entry.load(job.root)
        if config.task == "emulation":
            records, skipped = emulation_records(evaluator, program, config.seed, config.emulation)
        elif config.task == "flag-tuning":
            records = flag_tuning_records(
                evaluator, program, config.seed, config.flag_tuning, job.label
            )
        else:
            records = disassembly_records(evaluator, program)
    except LLVMNotFoundError:
        raise  # not this module's fault: nothing can go on
    except LLMCError as err:
        return ModuleOutcome(entry.id, entry.hash, error=str(err))
    except Exception as err:  # a bug must not stop the build either; it is reported
        return ModuleOutcome(entry.id, entry.hash, error=f"internal error: {err!r}")
    return ModuleOutcome(entry.id, entry.hash, tuple(records), skipped)


_evaluator: Evaluator | None = None


def _in_worker(job: ModuleJob) -> ModuleOutcome:
    """Run a job with this process's own one-worker Evaluator (pool processes, Ray)."""
    global _evaluator
    if _evaluator is None:
        _evaluator = Evaluator(jobs=1, timeout=job.config.timeout)
        atexit.register(_evaluator.close)
    return generate_module(job, _evaluator)


def run_jobs(jobs: list[ModuleJob], processes: int = 1, ray: str | None = None):
    """Yield each job's outcome, in job order, computing them in parallel.

    ``processes`` local processes (1: this process and one evaluation worker), or Ray
    tasks when ``ray`` is an address, "auto" or "local" (start a local instance).

    Raises:
        LLMCError: Ray was asked for and is not installed.
    """
    if not jobs:
        return
    if ray is not None:
        yield from _run_ray(jobs, ray)
    elif processes <= 1:
        with Evaluator(jobs=1, timeout=jobs[0].config.timeout) as evaluator:
            for job in jobs:
                yield generate_module(job, evaluator)
    else:
        for job, outcome in parallel.ordered_local(_in_worker, jobs, processes):
            yield _outcome(job, outcome, "")


def _run_ray(jobs: list[ModuleJob], address: str):
    for job, outcome in parallel.ordered_ray(_in_worker, jobs, address):
        yield _outcome(job, outcome, "ray: ")


def _outcome(job: ModuleJob, result, prefix: str) -> ModuleOutcome:
    """The job's outcome, or a failed one when its process (or Ray task) died."""
    if isinstance(result, LLVMNotFoundError):
        raise result
    if isinstance(result, BaseException):
        return ModuleOutcome(job.entry.id, job.entry.hash, error=f"{prefix}{result!r}")
    return result


# -- the whole build ----------------------------------------------------------------


class DatasetBuild:
    """Builds one dataset directory. Create it (checks everything that can be checked
    before work starts), then iterate :meth:`run`; ``manifest`` holds the result.

    Raises (on creation):
        InputError: the corpus directory is not one, or OUT holds files that are not
            a dataset (or a dataset, without ``overwrite``).
        LLMCError: the autotuning database cannot be read.
    """

    def __init__(
        self,
        corpus: str | os.PathLike,
        out: str | os.PathLike,
        config: DatasetConfig,
        tokenizer: Tokenizer | None = None,
        processes: int = 1,
        ray: str | None = None,
        parquet: bool = False,
        overwrite: bool = False,
    ) -> None:
        self.corpus = os.fspath(corpus)
        self.out = Path(out)
        self.config = config
        self.tokenizer = tokenizer or EstimateTokenizer()
        self.processes = processes
        self.ray = ray
        self.parquet = parquet
        if parquet:
            _require_pyarrow()
        entries = read_manifest(self.corpus)
        if config.max_modules is not None and config.max_modules < len(entries):
            # the modules whose seeded hash is smallest: the same sample for a seed
            entries = sorted(entries, key=lambda e: _seeded(config.seed, e.hash))
            entries = entries[: config.max_modules]
        self.entries = sorted(entries, key=lambda e: e.id)
        self.labels: dict[str, str] = {}
        self.label_settings: dict = {}
        self.unlabeled = 0
        if config.task == "flag-tuning" and config.flag_tuning.tune_db is not None:
            self.labels, self.label_settings = read_labels(config.flag_tuning.tune_db)
        self.jobs = []
        from_db = config.task == "flag-tuning" and config.flag_tuning.tune_db is not None
        for entry in self.entries:
            label = self.labels.get(entry.hash)
            if from_db and label is None:
                self.unlabeled += 1  # not in the database: no label to learn from
                continue
            self.jobs.append(ModuleJob(entry, self.corpus, config, label))
        _prepare(self.out, overwrite)
        self.manifest: dict | None = None

    @property
    def total(self) -> int:
        """Modules that will be processed."""
        return len(self.jobs)

    def run(self) -> Iterator[ModuleOutcome]:
        """Process every module, writing records as they come; yield each outcome.

        The manifest is written when the iteration finishes.
        """
        names = [name for name, _ in self.config.splits]
        records = dict.fromkeys(names, 0)
        programs = {name: set() for name in names}
        dropped = dict.fromkeys(names, 0)
        skipped: dict[str, int] = {}
        failed = 0
        with contextlib.ExitStack() as stack:
            files = {n: stack.enter_context(open(self.out / f"{n}.jsonl", "w")) for n in names}
            errors = stack.enter_context(open(self.out / ERRORS, "w"))
            for outcome in run_jobs(self.jobs, self.processes, self.ray):
                if outcome.error is not None:
                    failed += 1
                    line = {"program": outcome.program, "hash": outcome.hash}
                    errors.write(json.dumps({**line, "error": outcome.error}) + "\n")
                    yield outcome
                    continue
                for status, n in outcome.skipped.items():
                    skipped[status] = skipped.get(status, 0) + n
                split = assign_split(outcome.hash, self.config.seed, self.config.splits)
                for record in outcome.records:
                    full = self._complete(outcome, split, record)
                    budget = self.config.max_tokens
                    if budget is not None and full["tokens"] > budget:
                        dropped[split] += 1
                        continue
                    files[split].write(json.dumps(full, ensure_ascii=False) + "\n")
                    records[split] += 1
                    programs[split].add(outcome.hash)
                yield outcome
        if self.parquet:
            write_parquet(self.out, names)
        self.manifest = self._manifest(records, programs, dropped, skipped, failed)
        (self.out / MANIFEST).write_text(json.dumps(self.manifest, indent=2) + "\n")

    def _complete(self, outcome: ModuleOutcome, split: str, record: dict) -> dict:
        """The record as written: identity and split first, then its fields and tokens."""
        prompt_tokens = self.tokenizer.count(record["prompt"])
        completion_tokens = self.tokenizer.count(record["completion"])
        return {
            "task": self.config.task,
            "program": outcome.program,
            "hash": outcome.hash,
            "split": split,
            **record,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "tokens": prompt_tokens + completion_tokens + SPECIAL_TOKENS,
        }

    def _manifest(self, records, programs, dropped, skipped, failed) -> dict:
        names = [name for name, _ in self.config.splits]
        files = {}
        for name in names:
            path = self.out / f"{name}.jsonl"
            files[path.name] = {"records": records[name], "sha256": _sha256(path)}
        for name in names:
            if (self.out / f"{name}.parquet").is_file():
                files[f"{name}.parquet"] = {"records": records[name]}
        info = read_info(self.corpus)
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "kind": "llmcompiler-dataset",
            "task": self.config.task,
            "llvm_version": ".".join(map(str, version())),
            "generator": self.config.generator(),
            "tokenizer": {**self.tokenizer.describe(), "special_tokens": SPECIAL_TOKENS},
            "prompt_format": "LLM Compiler (Meta, 2024); see llmcompiler.prompts",
            "corpus": {
                "path": self.corpus,
                "hash": corpus_hash(self.entries),
                "modules": len(self.entries),
                **{k: info[k] for k in ("schema_version", "llvm_version") if k in info},
            },
            "counts": {
                name: {"records": records[name], "programs": len(programs[name])} for name in names
            },
            "records": sum(records.values()),
            "dropped": {"over_token_budget": dropped, "total": sum(dropped.values())},
            "failed": failed,
            "files": files,
        }
        if self.config.task == "emulation":
            manifest["skipped_pass_lists"] = dict(sorted(skipped.items()))
        if self.config.task == "flag-tuning":
            if self.config.flag_tuning.tune_db is not None:
                manifest["unlabeled"] = self.unlabeled  # modules not in the database
            source = "tune-db" if self.config.flag_tuning.tune_db is not None else "search"
            manifest["labels"] = {"source": source, **self.label_settings}
        if self.config.task == "disassembly":
            manifest["target"] = TARGET
        return manifest


_OUTPUT_SUFFIXES = (".jsonl", ".parquet")


def _ours(path: Path) -> bool:
    """A file a build writes (a split's records, errors, the manifest)."""
    return path.is_file() and (path.name == MANIFEST or path.suffix in _OUTPUT_SUFFIXES)


def _prepare(out: Path, overwrite: bool) -> None:
    """Make ``out`` ready: new or empty, or a dataset (or an interrupted build's files)
    to replace when ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not all(_ours(path) for path in out.iterdir()):
            raise InputError(f"{out}: not empty and not a dataset directory")
        if not overwrite:
            raise InputError(f"{out}: a dataset is already there (use --overwrite to replace)")
        for path in out.iterdir():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _require_pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise LLMCError(
            "--parquet needs pyarrow: pip install 'llmcompiler[datasets]' (or pip install pyarrow)"
        ) from None


def write_parquet(out: Path, names: list[str], batch: int = 512) -> None:
    """Write ``NAME.parquet`` beside each ``NAME.jsonl``, streaming in batches.

    Every split gets a file with the same columns (taken from the first record of any
    split), so ``datasets.load_dataset("parquet", data_files=...)`` reads them together.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = None
    for name in names:
        with open(out / f"{name}.jsonl") as f:
            first = f.readline()
        if first:
            schema = pa.Table.from_pylist([json.loads(first)]).schema
            break
    if schema is None:
        return  # no records anywhere: nothing to write
    for name in names:
        with (
            open(out / f"{name}.jsonl") as f,
            pq.ParquetWriter(out / f"{name}.parquet", schema) as writer,
        ):
            rows: list[dict] = []
            for line in f:
                rows.append(json.loads(line))
                if len(rows) == batch:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    rows = []
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
