"""The built-in flag-tuning model: a nearest-neighbour pass-list recommender over IR.

It reads a program's IR as a feature vector (:mod:`llmcompiler.analysis.features`:
opcode histogram, CFG, def-use, dominator and loop statistics), finds the training
programs whose IR looks most alike, and proposes the k pass lists that together did
best on them: a greedy set cover of the neighbours' improvements over -Oz, weighted by
similarity. Proposing lists *jointly* matters with a budget of a few evaluations: the
second list should win where the first does not, not repeat it.

Training data is a *gain matrix*: for every training program and every pass list of a
pool (the coreset our autotuner learned), the improvement over -Oz measured by the
compiler (:func:`collect`). Training (:func:`fit`) picks the neighbourhood size and
temperature by leave-one-out cross-validation on that matrix. Inference needs numpy
only.

Files (a model directory): ``llmc_ranker.json`` (schema, lists, hyperparameters,
provenance, cross-validation metrics) and ``ranker.npz`` (feature scaling, the
training programs' scaled features and their gains).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llmcompiler.analysis.features import FEATURE_NAMES, FEATURES_VERSION, HISTOGRAM_OPCODES
from llmcompiler.analysis.features import features as module_features
from llmcompiler.engine import Evaluator, Objective, Task
from llmcompiler.errors import ModelError
from llmcompiler.llvm import Module
from llmcompiler.model.call_features import CALL_FEATURE_NAMES, call_features
from llmcompiler.pipeline import OZ
from llmcompiler.program import Program

SCHEMA = 2  # 2: the call and inlining features (model/call_features.py) and call_weight
META_FILE = "llmc_ranker.json"
ARRAYS_FILE = "ranker.npz"

_HIST = len(HISTOGRAM_OPCODES)  # the opcode histogram is the vector's first slots


def program_vector(program: Program) -> np.ndarray:
    """The model's view of a program: log-scaled Autophase-style counts, the opcode
    histogram as shares of all instructions (the program's shape, whatever its size),
    then log-scaled call and inlining counts and three shares: instructions in
    ``alwaysinline`` functions, call sites that reach them, instructions in internal
    functions.

    Raises:
        InvalidIRError: the program's bitcode does not parse (it always does for a
            loaded Program).
    """
    with Module.parse(program.bitcode, program.name) as module:
        counts = np.asarray(module_features(module), dtype=np.float64)
        calls = dict(zip(CALL_FEATURE_NAMES, call_features(module.to_text()), strict=True))
    total = max(1.0, counts[:_HIST].sum())
    shares = [
        calls["instructions_in_alwaysinline"] / total,
        calls["calls_to_alwaysinline"] / max(1, calls["calls_to_defined"]),
        calls["instructions_in_internal"] / total,
    ]
    return np.concatenate(
        [
            np.log1p(counts),
            counts[:_HIST] / total,
            np.log1p(np.asarray(list(calls.values()), dtype=np.float64)),
            np.asarray(shares),
        ]
    )


_SHARES = ("alwaysinline_instructions", "alwaysinline_calls", "internal_instructions")


def vector_names() -> list[str]:
    return (
        [f"log1p({n})" for n in FEATURE_NAMES]
        + [f"share({n})" for n in HISTOGRAM_OPCODES]
        + [f"call:log1p({n})" for n in CALL_FEATURE_NAMES]
        + [f"call:share({n})" for n in _SHARES]
    )


def _weights(config: RankerConfig, width: int) -> np.ndarray:
    """Per-feature distance weights: the call features count ``call_weight`` times (all
    ones for vectors of another width, such as hand-made test matrices)."""
    names = vector_names()
    if width != len(names):
        return np.ones(width)
    return np.asarray([config.call_weight if n.startswith("call:") else 1.0 for n in names])


@dataclass
class GainMatrix:
    """Training data: ``gains[i, j]`` is pass list j's improvement over -Oz on program i,
    in percent of -Oz's value of ``metric`` (negative when worse; failures are -100)."""

    names: list[str]
    vectors: np.ndarray  # (programs, features)
    gains: np.ndarray  # (programs, lists)
    lists: list[str]
    oz_sizes: list[int]  # -Oz's values of the metric
    metric: str = "size"  # "size" (binary size) or "instcount"

    def save(self, path: str | Path) -> None:
        np.savez_compressed(
            path,
            names=np.asarray(self.names),
            vectors=self.vectors,
            gains=self.gains,
            lists=np.asarray(self.lists),
            oz_sizes=np.asarray(self.oz_sizes),
            metric=np.asarray(self.metric),
        )

    @classmethod
    def load(cls, path: str | Path) -> GainMatrix:
        with np.load(path, allow_pickle=False) as z:
            return cls(
                [str(n) for n in z["names"]],
                z["vectors"],
                z["gains"],
                [str(t) for t in z["lists"]],
                [int(s) for s in z["oz_sizes"]],
                str(z["metric"]) if "metric" in z.files else "size",
            )


FAILED_GAIN = -100.0


def collect(
    evaluator: Evaluator,
    programs: Sequence[Program],
    lists: Sequence[str],
    progress: Callable[[int, str], None] | None = None,
    timeout: float = 10.0,
    metric: str = "size",
) -> GainMatrix:
    """Measure every list on every program for ``metric`` ("size": binary size, the
    fast in-process path; "instcount": IR instructions).

    Results go through the evaluator's cache, so an interrupted collection resumes
    where it stopped. A program whose -Oz fails is skipped (reported through
    ``progress`` with its name and "skipped"). Returns the gain matrix; its
    ``oz_sizes`` are -Oz's values of ``metric``.
    """
    objective = Objective(metric=metric)
    names, vectors, rows, oz_sizes = [], [], [], []
    for done, program in enumerate(programs, 1):
        tasks = [Task(program, OZ, objective, timeout=timeout)]
        tasks += [Task(program, text, objective, timeout=timeout) for text in lists]
        results = dict(evaluator.run(tasks))
        oz = results[0]
        if not oz.ok or not oz.value(metric):
            if progress:
                progress(done, f"{program.name}: skipped (-Oz: {oz.status})")
            continue
        row = [
            (oz.value(metric) - r.value(metric)) / oz.value(metric) * 100 if r.ok else FAILED_GAIN
            for r in (results[j + 1] for j in range(len(lists)))
        ]
        names.append(program.name)
        vectors.append(program_vector(program))
        rows.append(row)
        oz_sizes.append(oz.value(metric))
        if progress:
            progress(done, program.name)
    width = len(vector_names())
    return GainMatrix(
        names,
        np.asarray(vectors, dtype=np.float64).reshape(-1, width),
        np.asarray(rows, dtype=np.float64).reshape(-1, len(lists)),
        list(lists),
        oz_sizes,
        metric,
    )


#: neighbours that stand for every training program: with a flat temperature the ranker
#: is then the greedy cover of the whole training set (the coreset's own order), which
#: cross-validation picks where neighbours do not carry over to unseen projects
ALL = 1_000_000


@dataclass(frozen=True)
class RankerConfig:
    """Hyperparameters of the recommender.

    Attributes:
        neighbours: training programs consulted per program.
        temperature: similarity weight exp(-(d - d_nearest) / temperature) for a
            neighbour at scaled-feature distance d (smaller: trust the nearest more).
        prior: weight of the whole training set's gains beside the neighbours' (breaks
            ties and fills in where the neighbours gained nothing).
        call_weight: how much more the call and inlining features count in the distance
            than the others (each feature is first scaled to unit variance).
    """

    neighbours: int = 16
    temperature: float = 2.0
    prior: float = 0.05
    call_weight: float = 1.0


@dataclass
class Ranker:
    """A fitted recommender: training programs' scaled vectors and gains."""

    lists: list[str]
    mean: np.ndarray
    scale: np.ndarray
    vectors: np.ndarray  # scaled training vectors
    gains: np.ndarray  # clipped at 0: a list worse than -Oz gains nothing (-Oz is kept)
    config: RankerConfig = field(default_factory=RankerConfig)
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_matrix(cls, matrix: GainMatrix, config: RankerConfig = RankerConfig()) -> Ranker:
        mean = matrix.vectors.mean(axis=0)
        scale = matrix.vectors.std(axis=0)
        scale[scale < 1e-9] = 1.0
        return cls(
            list(matrix.lists),
            mean,
            scale,
            (matrix.vectors - mean) / scale,
            np.maximum(matrix.gains, 0.0),
            config,
        )

    def select(
        self, vector: np.ndarray, k: int, exclude: int | Sequence[int] | None = None
    ) -> list[int]:
        """Indices of the k lists to propose for a program with this (unscaled) vector,
        best first. ``exclude`` leaves training programs out (cross-validation: one
        program, or every program of its project)."""
        z = (vector - self.mean) / self.scale
        w = _weights(self.config, len(z))
        distance = np.sqrt((((self.vectors - z) * w) ** 2).sum(axis=1))
        if exclude is not None:
            distance[exclude] = np.inf
        n = min(self.config.neighbours, int(np.isfinite(distance).sum()))
        near = np.argsort(distance, kind="stable")[:n]
        weights = np.exp(-(distance[near] - distance[near[0]]) / self.config.temperature)
        local = self.gains[near]
        prior = self.gains[np.isfinite(distance)].mean(axis=0)
        chosen: list[int] = []
        covered = np.zeros(len(near))
        for _ in range(min(k, len(self.lists))):
            value = (weights[:, None] * np.maximum(local, covered[:, None])).sum(axis=0)
            value = value / weights.sum() + self.config.prior * prior
            value[chosen] = -np.inf
            best = int(np.argmax(value))
            chosen.append(best)
            covered = np.maximum(covered, local[:, best])
            prior = np.where(np.arange(len(prior)) == best, 0.0, prior)
        return chosen

    def propose(self, program: Program, k: int) -> list[tuple[str, float]]:
        """(pipeline, expected gain %) of the k lists proposed for ``program``."""
        vector = program_vector(program)
        picks = self.select(vector, k)
        return [(self.lists[j], float(self.gains[:, j].mean())) for j in picks]

    # -- files --------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / ARRAYS_FILE,
            mean=self.mean,
            scale=self.scale,
            vectors=self.vectors.astype(np.float32),
            gains=self.gains.astype(np.float32),
        )
        meta = {
            "schema": SCHEMA,
            "kind": "nearest-neighbour set cover over IR features",
            "features_version": FEATURES_VERSION,
            "features": vector_names(),
            "config": self.config.__dict__,
            "lists": self.lists,
            **{k: v for k, v in self.meta.items() if k not in ("lists", "config")},
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=1) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> Ranker:
        """Load a model directory.

        Raises:
            ModelError: files missing, another schema or feature version.
        """
        directory = Path(directory)
        meta_path, arrays_path = directory / META_FILE, directory / ARRAYS_FILE
        if not meta_path.is_file() or not arrays_path.is_file():
            raise ModelError(f"{directory}: not a ranker model (needs {META_FILE}, {ARRAYS_FILE})")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as err:
            raise ModelError(f"{meta_path}: cannot read: {err}") from None
        if meta.get("schema") != SCHEMA:
            raise ModelError(f"{meta_path}: schema {meta.get('schema')}, expected {SCHEMA}")
        if meta.get("features_version") != FEATURES_VERSION:
            raise ModelError(
                f"{meta_path}: made with features version {meta.get('features_version')}, "
                f"this llmcompiler computes version {FEATURES_VERSION}"
            )
        with np.load(arrays_path, allow_pickle=False) as z:
            arrays = {k: z[k].astype(np.float64) for k in ("mean", "scale", "vectors", "gains")}
        return cls(
            meta["lists"],
            arrays["mean"],
            arrays["scale"],
            arrays["vectors"],
            arrays["gains"],
            RankerConfig(**meta["config"]),
            meta,
        )


def cross_validate(
    matrix: GainMatrix, config: RankerConfig, k: int, groups: Sequence[str] | None = None
) -> dict[str, float]:
    """Leave-one-out on the gain matrix: mean gain (%) of the best of the k lists the
    model proposes for each program from the others, beside the oracle (best list of
    the pool) and the pool's own order (its first k lists, no model). With ``groups``
    (one per program: its project), every program of the same group is left out too,
    as a project never seen is at test time; a group left with no other program gains
    what the whole-pool prior gives."""
    ranker = Ranker.from_matrix(matrix, config)
    realised = []
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups or ()):
        by_group.setdefault(g, []).append(i)
    for i in range(len(matrix.names)):
        out = by_group[groups[i]] if groups else [i]
        if len(out) == len(matrix.names):
            out = [i]  # one group only: leave one program out
        picks = ranker.select(matrix.vectors[i], k, exclude=out)
        realised.append(max(0.0, float(matrix.gains[i, picks].max())))
    clipped = np.maximum(matrix.gains, 0.0)
    return {
        "model_pct": float(np.mean(realised)),
        "pool_order_pct": float(clipped[:, :k].max(axis=1).mean()),
        "oracle_pct": float(clipped.max(axis=1).mean()),
    }


def fit(
    matrix: GainMatrix,
    k: int = 5,
    grid: Sequence[RankerConfig] | None = None,
    progress: Callable[[RankerConfig, dict], None] | None = None,
    groups: Sequence[str] | None = None,
) -> tuple[Ranker, dict]:
    """Pick the configuration with the best leave-one-out gain at k proposals (with
    ``groups``: leave-one-project-out, :func:`cross_validate`) and return the ranker
    fitted on all of ``matrix`` and the cross-validation table.

    Raises:
        ModelError: fewer than 2 programs, or ``groups`` not one per program.
    """
    if len(matrix.names) < 2:
        raise ModelError("training needs at least 2 programs in the gain matrix")
    if groups is not None and len(groups) != len(matrix.names):
        raise ModelError(f"{len(groups)} groups for {len(matrix.names)} programs")
    grid = grid or [
        RankerConfig(n, t, p, c)
        for n in (4, 8, 16, 32, 64, ALL)
        for t in (0.5, 1.0, 2.0, 4.0, 1e6)
        for p in (0.02, 0.1)
        for c in (1.0, 3.0)
    ]
    table = []
    for config in grid:
        scores = cross_validate(matrix, config, k, groups)
        table.append({"config": config.__dict__, **scores})
        if progress:
            progress(config, scores)
    best = max(table, key=lambda row: row["model_pct"])
    ranker = Ranker.from_matrix(matrix, RankerConfig(**best["config"]))
    return ranker, {"k": k, "groups": groups is not None, "best": best, "grid": table}
