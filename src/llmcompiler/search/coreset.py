"""Coresets: a few pass lists that, tried first, capture most of what search finds.

A coreset file is JSON with its provenance (corpus, budget, LLVM version) and its
lists; ``build_coreset`` picks them from an autotuning database by greedy set cover.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from llmcompiler.errors import LLMCError, PipelineError

if TYPE_CHECKING:
    from llmcompiler.engine import Evaluator

SCHEMA_VERSION = 1
SHIPPED = "coreset_llvm19.json"
#: The family (:attr:`llmcompiler.llvm.target.Target.family`) SHIPPED was learned on;
#: other families' coresets are ``coresets/<family>.json`` in the package data, and a
#: coreset learned for another objective ``coresets/<family>.<objective>.json``.
SHIPPED_FAMILY = "x86_64"


@dataclass(frozen=True)
class Coreset:
    """Pass lists (opt -passes= text), best first, and where they came from."""

    pipelines: tuple[str, ...]
    provenance: dict


def load_coreset(path: str | None = None) -> Coreset:
    """Load a coreset file, or the shipped one when ``path`` is None (empty if absent).

    Raises:
        LLMCError: the file is missing or not a coreset.
    """
    if path is None:
        shipped = resources.files("llmcompiler.data").joinpath(SHIPPED)
        if not shipped.is_file():
            return Coreset((), {})
        text = shipped.read_text()
        where = f"shipped {SHIPPED}"
    else:
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise LLMCError(f"{path}: cannot read coreset: {err.strerror}") from None
        where = path
    return _parse(text, where)


def _parse(text: str, where: str) -> Coreset:
    try:
        data = json.loads(text)
        lists = tuple(entry["pipeline"] for entry in data["lists"])
    except (ValueError, KeyError, TypeError) as err:
        raise LLMCError(f"{where}: not a coreset file: {err}") from None
    return Coreset(lists, {k: v for k, v in data.items() if k != "lists"})


def coreset_for(triple: str, metric: str = "size") -> Coreset:
    """The shipped coreset learned for ``triple``'s family (aarch64, arm, riscv32, ...)
    and for ``metric``, else the family's size one, else the x86-64 one. Its provenance
    says which: ``target`` is the family it was learned on, ``fits`` whether that is the
    module's, and ``objective`` what it was learned for.

    Raises:
        LLMCError: a shipped file is damaged.
    """
    from llmcompiler.llvm.target import target

    family = target(triple).family if triple else SHIPPED_FAMILY
    data = resources.files("llmcompiler.data").joinpath("coresets")
    own_size = data.joinpath(f"{family}.json")
    has_own = family != SHIPPED_FAMILY and own_size.is_file()
    files = []
    if metric != "size":
        files.append(data.joinpath(f"{family}.{metric}.json"))
        if not has_own:  # a family with no coreset of its own gets the x86-64 ones
            files.append(data.joinpath(f"{SHIPPED_FAMILY}.{metric}.json"))
    found = next(
        (_parse(f.read_text(), f"shipped coresets/{f.name}") for f in files if f.is_file()),
        None,
    )
    if found is None:
        found = (
            _parse(own_size.read_text(), f"shipped coresets/{family}.json")
            if has_own
            else load_coreset()
        )
    learned_on = found.provenance.get("target", SHIPPED_FAMILY)
    return Coreset(
        found.pipelines, {**found.provenance, "target": learned_on, "fits": learned_on == family}
    )


def describe_coreset(coreset: Coreset, triple: str) -> str:
    """One line saying which coreset a module of ``triple`` gets."""
    learned_on = coreset.provenance.get("target", SHIPPED_FAMILY)
    lists = len(coreset.pipelines)
    if coreset.provenance.get("fits", True):
        return f"coreset learned on {learned_on} ({lists} lists) for {triple}"
    return f"no coreset learned for {triple} yet: using the {learned_on} one ({lists} lists)"


def build_coreset(
    db, k: int, note: str = "", cross: CrossEvaluation | None = None, cost_weight: float = 0.0
) -> tuple[Coreset, list[dict]]:
    """Pick up to ``k`` lists from an autotuning database by greedy set cover.

    A list's value on a program is the improvement over -Oz it reached there; the
    coreset's value is, summed over programs, the best value among its lists. Each
    step adds the list with the largest gain. Returns the Coreset and its entries
    (pipeline, marginal gain, programs it is the best choice for).

    Without ``cross`` a list is valued only on the programs autotuning stored it for
    (mostly one: its own). With ``cross`` the per-program cover's first
    ``cross.pool * k`` lists are measured on every program of the database, and the
    cover is taken over those measures: lists that help many programs come first.
    The cross measures also time each list against -Oz on every program; with
    ``cost_weight`` w > 0 each step takes the largest gain / cost**w, where cost is
    that mean time ratio (at least 1/4): under a time budget a list that is three times
    slower than -Oz must find more than a fast one to be tried first. Each entry then
    holds its ``seconds_vs_oz``.
    """
    from llmcompiler.engine.cache import llvm_version_string

    value = _stored_values(db)
    cost: dict[str, float] = {}
    method = "greedy set cover over each program's best lists"
    if cross is not None:
        pool = _cover(value, cross.pool * k)[0]
        value, cost = cross.measure(db, [e["pipeline"] for e in pool])
        method = (
            f"greedy set cover over every program, of the first {len(pool)} lists of "
            "each program's best lists, each measured on every program"
        )
        if cost_weight > 0:
            method += f"; gain per (time / -Oz's time)**{cost_weight:g}"
    entries, covered = _cover(value, k, cost, cost_weight)  # weight 0: gain alone
    for entry in entries:
        if entry["pipeline"] in cost:
            entry["seconds_vs_oz"] = round(cost[entry["pipeline"]], 3)
    programs = db.programs()
    families = _families(programs)
    provenance = {
        "schema_version": SCHEMA_VERSION,
        "llvm_version": llvm_version_string(),
        "corpus": db.meta("corpus") or note or "unknown",
        "programs": len(programs),
        "budget_per_program": _json_or_none(db.meta("budget_per_program")),
        "objective": db.meta("objective") or "size",
        "method": method,
        "k": k,
        "mean_covered_improvement_pct": round(sum(covered.values()) / len(programs), 4)
        if programs
        else 0.0,
    }
    if families:
        provenance["target"] = families[0]
    if note:
        provenance["note"] = note
    return Coreset(tuple(e["pipeline"] for e in entries), provenance), entries


def _stored_values(db) -> dict[str, dict[str, float]]:
    """pipeline -> {program hash: improvement %} of the lists autotuning stored, but for
    lists the vocabulary now rejects (a pass found to miscompile since)."""
    value: dict[str, dict[str, float]] = {}
    accepted: dict[str, bool] = {}
    for digest, pipeline, improvement in db.lists():
        if pipeline not in accepted:
            accepted[pipeline] = _accepted(pipeline)
        if improvement > 0 and accepted[pipeline]:
            per = value.setdefault(pipeline, {})
            per[digest] = max(per.get(digest, 0.0), improvement)
    return value


def _accepted(pipeline: str) -> bool:
    """True when the vocabulary accepts the list, flat or as an edited -Oz."""
    from llmcompiler.pipeline.oz import validate_pass_list

    try:
        validate_pass_list(pipeline)
    except PipelineError:
        return False
    return True


#: A list's cost in the cost-aware cover is at least this share of -Oz's time.
MIN_COST = 0.25


def _cover(
    value: dict[str, dict[str, float]],
    k: int,
    cost: dict[str, float] | None = None,
    weight: float = 0.0,
) -> tuple[list[dict], dict[str, float]]:
    """Greedy set cover of up to ``k`` lists; returns the entries and the best value
    reached per program. With ``cost`` (pipeline -> time over -Oz's) each step ranks
    the lists by gain / max(MIN_COST, cost)**weight; a list with no cost counts 1."""
    value = {p: dict(v) for p, v in value.items()}
    covered: dict[str, float] = {}
    entries: list[dict] = []
    for _ in range(k):
        best, best_gain, best_rank = None, 0.0, 0.0
        for pipeline in sorted(value):
            gain = sum(max(0.0, v - covered.get(h, 0.0)) for h, v in value[pipeline].items())
            rank = gain
            if cost is not None:
                rank = gain / max(MIN_COST, cost.get(pipeline, 1.0)) ** weight
            if gain > 1e-12 and rank > best_rank + 1e-12:
                best, best_gain, best_rank = pipeline, gain, rank
        if best is None:
            break
        wins = sum(1 for h, v in value[best].items() if v > covered.get(h, 0.0))
        for h, v in value.pop(best).items():
            covered[h] = max(covered.get(h, 0.0), v)
        entries.append({"pipeline": best, "gain_pct_sum": round(best_gain, 4), "programs": wins})
    return entries, covered


@dataclass(frozen=True)
class CrossEvaluation:
    """How to measure candidate lists on every program of an autotuning database.

    Attributes:
        evaluator: the engine's Evaluator (the fast in-process path).
        pool: candidates per coreset list kept (the per-program cover's first pool * k).
        timeout: seconds per evaluation; a list over it counts as no gain there.
        progress: called with (programs done, programs) after each program.
    """

    evaluator: Evaluator
    pool: int = 4
    timeout: float = 20.0
    progress: Callable[[int, int], None] | None = None

    def measure(
        self, db, pipelines: list[str]
    ) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
        """(pipeline -> {program hash: improvement % over -Oz, where positive},
        pipeline -> mean over programs of its evaluation time / -Oz's).

        A list that fails or times out on a program counts the timeout there. Programs
        whose file is gone or that fail to load are skipped (and counted done).
        """
        from llmcompiler.engine import Objective, Task
        from llmcompiler.pipeline import OZ
        from llmcompiler.program import load_program

        metric = db.meta("objective") or "size"
        objective = Objective(metric=metric)
        value: dict[str, dict[str, float]] = {p: {} for p in pipelines}
        ratios: dict[str, list[float]] = {p: [] for p in pipelines}
        rows = [r for r in db.programs() if r["status"] == "ok"]
        for done, row in enumerate(rows, 1):
            try:
                program = load_program(row["name"])
            except LLMCError:
                program = None
            if program is not None:
                tasks = [
                    Task(program, text, objective, timeout=self.timeout)
                    for text in (OZ, *pipelines)
                ]
                results = dict(self.evaluator.run(tasks))
                oz = getattr(results[0], metric) if results[0].ok else None
                oz_seconds = results[0].seconds if results[0].ok else 0.0
                for j, pipeline in enumerate(pipelines, 1):
                    got = getattr(results[j], metric) if results[j].ok else None
                    if oz and got is not None and got < oz:
                        value[pipeline][row["hash"]] = (oz - got) / oz * 100
                    if oz_seconds > 0:
                        spent = results[j].seconds if results[j].ok else self.timeout
                        ratios[pipeline].append(spent / oz_seconds)
            if self.progress:
                self.progress(done, len(rows))
        cost = {p: sum(r) / len(r) for p, r in ratios.items() if r}
        return value, cost


def _families(programs: list[dict]) -> list[str]:
    """The one target family of a database's programs ([] when none was recorded).

    Raises:
        LLMCError: the programs are of several families (a coreset is per target).
    """
    from llmcompiler.llvm.target import target

    families = sorted({target(p["triple"]).family for p in programs if p.get("triple")})
    if len(families) > 1:
        raise LLMCError(
            f"the database holds programs of several targets ({', '.join(families)}); "
            "a coreset is learned per target: autotune each into its own database"
        )
    return families


def save_coreset(path: str, coreset: Coreset, entries: list[dict]) -> None:
    """Write a coreset file (provenance first, then the lists)."""
    Path(path).write_text(json.dumps({**coreset.provenance, "lists": entries}, indent=2) + "\n")


def _json_or_none(text: str | None):
    return None if text is None else json.loads(text)
