"""Building a task dataset from a corpus directory (the files: :mod:`.store`).

Each module is turned into records independently (:mod:`.jobs`: local processes, or
Ray tasks), so one bad module only adds a line to ``errors.jsonl``. Records are written
in a fixed order (modules by corpus id, then record index) and nothing in the output
depends on time, the machine or the parallelism: two builds with the same corpus and
config give byte-identical files (a list that times out is the exception: timeouts
depend on load).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

from llmcompiler.corpus.store import CorpusEntry, read_info, read_manifest
from llmcompiler.datasets import store
from llmcompiler.datasets.config import TASKS, DatasetConfig, assign_split, parse_splits
from llmcompiler.datasets.disassembly import TARGET
from llmcompiler.datasets.flag_tuning import read_labels
from llmcompiler.datasets.jobs import ModuleJob, ModuleOutcome, run_jobs
from llmcompiler.datasets.parquet import require_pyarrow, write_parquet
from llmcompiler.datasets.tokens import SPECIAL_TOKENS, EstimateTokenizer, Tokenizer
from llmcompiler.llvm import version

# TASKS, DatasetConfig and parse_splits are imported from here by the CLI.
__all__ = ["TASKS", "DatasetBuild", "DatasetConfig", "corpus_hash", "parse_splits"]


def _seeded(seed: int, digest: str) -> str:
    return hashlib.sha256(f"sample:{seed}:{digest}".encode()).hexdigest()


def corpus_hash(entries: list[CorpusEntry]) -> str:
    """sha256 (hex) of the corpus's sorted module hashes, one per line."""
    lines = "".join(f"{h}\n" for h in sorted(e.hash for e in entries))
    return hashlib.sha256(lines.encode()).hexdigest()


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
        self.config = config
        self.tokenizer = tokenizer or EstimateTokenizer()
        self.processes = processes
        self.ray = ray
        self.parquet = parquet
        if parquet:
            require_pyarrow()
        entries = read_manifest(self.corpus)
        if config.max_modules is not None and config.max_modules < len(entries):
            # the modules whose seeded hash is smallest: the same sample for a seed
            entries = sorted(entries, key=lambda e: _seeded(config.seed, e.hash))
            entries = entries[: config.max_modules]
        self.entries = sorted(entries, key=lambda e: e.id)
        self.labels: dict[str, str] = {}
        self.label_settings: dict = {}
        self.unlabeled = 0
        from_db = config.task == "flag-tuning" and config.flag_tuning.tune_db is not None
        if from_db:
            self.labels, self.label_settings = read_labels(config.flag_tuning.tune_db)
        self.jobs = []
        for entry in self.entries:
            label = self.labels.get(entry.hash)
            if from_db and label is None:
                self.unlabeled += 1  # not in the database: no label to learn from
                continue
            self.jobs.append(ModuleJob(entry, self.corpus, config, label))
        self.out = store.prepare(out, overwrite)
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
        with store.DatasetWriter(self.out, names) as writer:
            for outcome in run_jobs(self.jobs, self.processes, self.ray):
                if outcome.error is not None:
                    failed += 1
                    writer.error(outcome.program, outcome.hash, outcome.error)
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
                    writer.write(split, full)
                    records[split] += 1
                    programs[split].add(outcome.hash)
                yield outcome
        if self.parquet:
            write_parquet(self.out, names)
        self.manifest = self._manifest(records, programs, dropped, skipped, failed)
        store.write_manifest(self.out, self.manifest)

    def _complete(self, outcome: ModuleOutcome, split: str, record: dict) -> dict:
        """The record as written: identity and split first, then its fields and tokens."""
        prompt_tokens = self.tokenizer.count(record["prompt"])
        completion_tokens = self.tokenizer.count(record["completion"])
        return {
            "task": self.config.task,
            "program": outcome.program,
            "hash": outcome.hash,
            "triple": outcome.triple,
            "split": split,
            **record,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "tokens": prompt_tokens + completion_tokens + SPECIAL_TOKENS,
        }

    def _manifest(self, records, programs, dropped, skipped, failed) -> dict:
        names = [name for name, _ in self.config.splits]
        info = read_info(self.corpus)
        manifest = {
            "schema_version": store.SCHEMA_VERSION,
            "kind": store.KIND,
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
            "files": store.describe_files(self.out, records),
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
