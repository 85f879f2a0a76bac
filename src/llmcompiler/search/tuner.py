"""``optimize``: find the pass list that makes one program smallest, and never return
anything worse than -Oz.

Two sources of candidates feed the one acceptance path (:class:`.accept.Acceptance`):
search (the model's lists and the coreset as seeds, then evolution; the best lists
are minimized one at a time as they are asked for) and, for method "model", the
model's lists alone. Either way every candidate is measured with llc-19, checked
for linkage and validated, and -Oz is the fallback.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from llmcompiler.engine import EvalResult, Evaluator, Objective, Task
from llmcompiler.errors import EvaluationError, LLMCError, PipelineError
from llmcompiler.model.base import Candidate, PassListModel
from llmcompiler.pipeline import (
    OZ,
    Pass,
    leaves,
    load_vocabulary,
    parse_pipeline,
    parse_tree,
    render,
)
from llmcompiler.pipeline.oz import template as oz_template
from llmcompiler.program import Program
from llmcompiler.search.accept import EXACT, OZ_DIFFERS, Acceptance, LinkageCheck, reference
from llmcompiler.search.clusters import cluster_lists
from llmcompiler.search.minimize import minimize
from llmcompiler.search.per_function import per_function
from llmcompiler.search.result import Measure, Proposal, TuneResult
from llmcompiler.search.run import Budget, SearchRun
from llmcompiler.search.screen import screened
from llmcompiler.search.space import OZ_GENE, Genome, genes, pipeline_text
from llmcompiler.search.strategies import METHODS
from llmcompiler.search.validate import RunSpec

__all__ = ["EXACT", "OZ_DIFFERS", "Measure", "Proposal", "TuneConfig", "TuneResult", "optimize"]

#: A candidate for the acceptance path: its text, its genes, and its llc-19 result
#: when the source measured it already (None: the acceptance path measures it).
Offer = tuple[str, Genome, EvalResult | None]

#: Search gives up on a list that takes SLOW_FACTOR times as long as -Oz (and at least
#: SLOW_MIN_SECONDS): the attributor, for one, can take 30 s where -Oz takes 0.1 s.
SLOW_FACTOR = 20.0
SLOW_MIN_SECONDS = 0.5
#: Search stops early enough to leave RESERVE_FACTOR times -Oz's time (at most
#: RESERVE_SHARE of the budget) for minimization, exact measurement and checks.
RESERVE_FACTOR = 4.0
RESERVE_SHARE = 0.3
#: Share of the time budget kept for choosing function pipelines per function after
#: search (:mod:`.per_function`), when TuneConfig.per_function is on and the rest still
#: buys search PER_FUNCTION_MIN_SEARCH evaluations as slow as -Oz. On the real-code
#: test side a search of fewer evaluations lost more without that time than choosing
#: per function won (benchmarks/tuning.py, README "A pass list per function").
PER_FUNCTION_SHARE = 0.25
PER_FUNCTION_MIN_SEARCH = 100
#: A list the linkage check rejects (it calls a body -Oz inlined; :class:`.LinkageCheck`)
#: does not use up one of TuneConfig.attempts, up to LINKAGE_RETRIES such lists and
#: while the checks have taken less than LINKAGE_SHARE of a time budget. Evolution breeds
#: from the best lists, so when the best one calls such a body its children that rank
#: next do too: on a scipy C++ file (std::string's members are available_externally)
#: the first 56 lists that beat -Oz all did, and search returned -Oz after 5 attempts.
#: A list whose search result equals a rejected one's is taken for the same code and
#: passed over.
LINKAGE_RETRIES = 24
LINKAGE_SHARE = 0.2


@dataclass(frozen=True)
class TuneConfig:
    """Settings of one optimization.

    Attributes:
        budget: when search stops (minimization and final checks come after it).
        metric: "size" (binary size) or "instcount" (IR instructions).
        seed: the search is deterministic for a seed and an evaluation budget.
        method: "local" (coreset, then evolution), "greedy" or "random".
        coreset: pass lists (opt -passes= text) tried first by local search.
        validate: compare each winner's behaviour with the -O0 build (programs with main).
        run: arguments, stdin and timeout for validation runs.
        minimize: drop passes that do not help from the returned list.
        attempts: candidates tried (minimized, measured, validated) before -Oz is returned.
        model: a pass-list model (llmcompiler.model). With method "model" its candidates
            are all that is tried (each measured with llc-19; nothing is minimized); with
            the other methods they are tried first, before the coreset.
        candidates: how many pass lists to ask the model for.
        runners_up: how many other lists that beat -Oz in search to report (autotuning
            stores them for coreset building); each is measured with llc-19 like the
            winner, so every reported improvement compares exact sizes with exact -Oz.
        per_function: after search, give each function the function pipelines that make
            it smaller (``llmc-functions`` steps after the winner, :mod:`.per_function`),
            within PER_FUNCTION_SHARE of the time budget; offered before the winner
            alone when search's own measure finds it smaller.
        screen: on a large module whose seeds do not all fit the time budget, try them
            in the order of their scores on a sample of it (:mod:`.screen`; instruction
            count only).
    """

    budget: Budget = field(default_factory=Budget)
    metric: str = "size"
    seed: int = 0
    method: str = "local"
    coreset: tuple[str, ...] = ()
    validate: bool = False
    run: RunSpec = field(default_factory=RunSpec)
    minimize: bool = True
    attempts: int = 5
    model: PassListModel | None = None
    candidates: int = 4
    runners_up: int = 0
    per_function: bool = True
    screen: bool = True


def coreset_genomes(lists: tuple[str, ...]) -> list[Genome]:
    """Parse coreset pass lists, skipping any that the vocabulary does not accept."""
    vocabulary = load_vocabulary()
    oz_names = set(oz_template().names)
    out = []
    for text in lists:
        if text == OZ:
            out.append((OZ_GENE,))
            continue
        try:
            tree = parse_tree(text).nodes
        except PipelineError:
            continue
        try:
            passes = parse_pipeline(text, vocabulary).passes
            if pipeline_text(passes) == render(tree):
                out.append(passes)
                continue
        except PipelineError:
            pass
        # A list with nesting that flat pass lists cannot express (an edited -Oz) is kept
        # whole, as one gene that search can extend but not edit, unless it holds a pass
        # the vocabulary excludes.
        if not any(vocabulary.exclusion(n.name) and n.name not in oz_names for n in leaves(tree)):
            out.append((Pass(text, "module"),))
    return out


class _Search:
    """Candidates from search. Construction measures -Oz (llc-19 and the fast path at
    once), asks the model for seeds and runs the strategy within the budget;
    :meth:`offers` then yields the ranked lists that beat -Oz, best first, each
    minimized only when it is asked for."""

    def __init__(self, evaluator: Evaluator, program: Program, config: TuneConfig) -> None:
        self.config = config
        picks: tuple[str, ...] = ()
        if config.model is not None:
            asked = propose(config.model, program, config.candidates)
            picks = tuple(c.pipeline for c in asked if c.pipeline)
        seeds = picks + config.coreset
        run = SearchRun(evaluator, program, Objective(metric=config.metric), config.budget)
        # -Oz measured both ways at once: with llc-19 (the reference) and as search scores it
        oz_text = pipeline_text((OZ_GENE,))
        tasks = [Task(program, OZ, reference(config.metric)), Task(program, oz_text, run.objective)]
        both = dict(evaluator.run(tasks))
        self.oz = _checked_oz(program, both[0])
        run.count((OZ_GENE,), both[1])
        oz_seconds = run.times[oz_text]
        run.timeout = max(SLOW_MIN_SECONDS, SLOW_FACTOR * oz_seconds)
        if config.budget.seconds is not None:
            run.reserve = min(RESERVE_SHARE * config.budget.seconds, RESERVE_FACTOR * oz_seconds)
        #: whether to choose per function, and when that must stop (monotonic time;
        #: None: no time budget)
        self.per_function, self.functions_deadline = config.per_function, None
        if config.per_function and config.budget.seconds is not None:
            share = PER_FUNCTION_SHARE * config.budget.seconds
            rest = config.budget.seconds - share - run.reserve
            self.per_function = rest >= PER_FUNCTION_MIN_SEARCH * oz_seconds
            self.functions_deadline = run.start + config.budget.seconds - run.reserve
            run.reserve += share if self.per_function else 0.0
        self.linkage = LinkageCheck(evaluator, program)
        rng = random.Random(config.seed)
        genomes = coreset_genomes(seeds)
        if config.screen and config.method == "local":
            # the model's picks stay ahead of the coreset, in the sample's order
            genomes = screened(run, genomes, config.seed, picks=len(picks))
        if config.method == "local" and config.coreset:
            # The lists of the program's cluster (template C++), after the first two
            # seeds: the first round, on two workers, stays the model's. Not screened:
            # on a sample the outliner's gain is not the whole module's.
            extra = [g for g in coreset_genomes(cluster_lists(program)) if g not in genomes]
            genomes = genomes[:2] + extra + genomes[2:]
        METHODS[config.method](run, rng, genes(load_vocabulary()), genomes, oz_template())
        self.run, self.oz_fast = run, run.scores[oz_text]

    @property
    def evaluations(self) -> int:
        return self.run.evaluations

    def offers(self) -> Iterator[Offer]:
        tried = retries = 0
        checking = 0.0  # seconds the acceptance path took on lists the linkage check lost
        budget = self.config.budget.seconds
        lost: set[tuple[int | None, int | None]] = set()  # search results of such lists
        for score, text in self.run.ranked():
            genome = self.run.genomes[text]
            if tried >= self.config.attempts or score[0] > self.oz_fast[0]:
                return  # ranked best first: the rest are worse than -Oz
            if score[0] == self.oz_fast[0] and genome != (OZ_GENE,):
                continue  # no better than -Oz: not worth minimizing and measuring
            result = self.run.results.get(text)
            if result in lost:
                continue
            tried += 1
            if self.config.minimize and genome != (OZ_GENE,):
                genome = minimize(self.run, genome)
            text = OZ if genome == (OZ_GENE,) else pipeline_text(genome)
            if tried == 1 and self.per_function:
                plan = self._per_function(text)
                if plan is not None:
                    yield plan, (Pass(plan, "module"),), None
            start = time.monotonic()
            yield text, genome, None
            if text in self.linkage.rejected:
                lost.add(result)
                checking += time.monotonic() - start
                if retries < LINKAGE_RETRIES and (
                    budget is None or checking < LINKAGE_SHARE * budget
                ):
                    retries += 1
                    tried -= 1

    def _per_function(self, text: str) -> str | None:
        """The winner followed by function pipelines per function, when search's own
        measure finds it smaller than the winner alone; else None."""
        run = self.run
        plan = per_function(
            run.evaluator, run.program, text, run.objective, self.functions_deadline
        )
        if plan is None:
            return None
        run.evaluations += plan.evaluations
        if plan.pipeline == text:
            return None
        whole = run.evaluator.evaluate(run.program, plan.pipeline, run.objective)
        run.evaluations += 1
        alone = run.scores.get(text)
        if alone is None:
            result = run.evaluator.evaluate(run.program, text, run.objective)
            alone = run.score(result.size, result.instcount) if result.ok else None
        if not whole.ok or alone is None:
            return None
        return plan.pipeline if run.score(whole.size, whole.instcount)[0] < alone[0] else None

    def runners_up(self, count: int) -> list[str]:
        """Up to ``count`` other lists that beat -Oz in search (not minimized)."""
        ranked = self.run.ranked()[:count]
        return [text for score, text in ranked if score[0] < self.oz_fast[0]]

    def report(self, discarded: tuple[tuple[str, str], ...]) -> tuple[Proposal, ...]:
        return ()  # the model's lists were seeds: search measured them with the rest


class _ModelOnly:
    """Candidates from the model alone (method "model"): -Oz and each distinct valid
    list measured with llc-19 in parallel; :meth:`offers` yields those that beat -Oz,
    best first (ties: the model's order). Evaluations: -Oz and each distinct list."""

    def __init__(self, evaluator: Evaluator, program: Program, config: TuneConfig) -> None:
        if config.model is None:
            raise ValueError('method "model" needs a model (TuneConfig.model)')
        self.metric = config.metric
        self.asked = propose(config.model, program, config.candidates)
        self.pipelines = list(dict.fromkeys(c.pipeline for c in self.asked if c.pipeline))
        want = "bitcode" if config.validate and program.has_main else None
        ref = reference(config.metric)
        tasks = [Task(program, OZ, ref)]
        tasks += [Task(program, p, ref, output=want) for p in self.pipelines]
        results = dict(evaluator.run(tasks))
        self.oz = _checked_oz(program, results[0])
        self.measured = {p: results[i + 1] for i, p in enumerate(self.pipelines)}
        self.linkage = LinkageCheck(evaluator, program)
        self.evaluations = 1 + len(self.pipelines)

    def _value(self, p: str) -> int:
        return self.measured[p].value(self.metric)

    def offers(self) -> Iterator[Offer]:
        base = self.oz.value(self.metric)
        ok = [p for p in self.pipelines if self.measured[p].ok]
        for p in sorted(ok, key=lambda p: (self._value(p), self.pipelines.index(p))):
            if self._value(p) >= base:
                return
            yield p, (Pass(p, "module"),), self.measured[p]

    def runners_up(self, count: int) -> list[str]:
        return []

    def report(self, discarded: tuple[tuple[str, str], ...]) -> tuple[Proposal, ...]:
        """Each of the model's candidates as the compiler measured (or rejected) it."""
        rejected = dict(discarded)
        out = []
        for c in self.asked:
            if c.pipeline is None:
                out.append(Proposal(None, c.error, None, None))
                continue
            r = self.measured[c.pipeline]
            error = None if r.ok else f"{r.status}: {r.error}"
            out.append(
                Proposal(
                    c.pipeline,
                    error or rejected.get(c.pipeline),
                    r.size if r.ok else None,
                    r.instcount if r.ok else None,
                )
            )
        return tuple(out)


def _primary(config: TuneConfig) -> int:
    """Index of the objective in (size, instcount)."""
    return 0 if config.metric == "size" else 1


def _checked_oz(program: Program, oz: EvalResult) -> EvalResult:
    if not oz.ok:
        raise EvaluationError(f"{program.name}: -Oz fails: {oz.status}: {oz.error}")
    return oz


def optimize(
    evaluator: Evaluator,
    program: Program,
    config: TuneConfig = TuneConfig(),
    output: str | None = None,
) -> TuneResult:
    """Find the pass list that minimizes the objective for ``program``.

    Returns a TuneResult whose numbers come from llc-19 and whose result is never
    worse than -Oz on the objective (it falls back to ``default<Oz>``). ``output``
    asks for an artifact of the result ("ir", "bitcode", "object", "asm").

    Raises:
        EvaluationError: -Oz itself fails on this program.
        ValueError: unknown method or metric, or method "model" without a model.
    """
    if config.method != "model" and config.method not in METHODS:
        raise ValueError(
            f"method must be one of {sorted([*METHODS, 'model'])}, not {config.method!r}"
        )
    start = time.monotonic()
    source_kind = _ModelOnly if config.method == "model" else _Search
    source = source_kind(evaluator, program, config)
    primary = _primary(config)
    with Acceptance(
        evaluator, program, source.oz, primary, source.linkage, config.validate, config.run
    ) as acceptance:
        for pipeline, genome, exact in source.offers():
            if acceptance.consider(pipeline, genome, exact):
                break
        kept = acceptance.finish()
    artifact = None
    if output is not None:
        ref = reference(config.metric)
        artifact = evaluator.evaluate(program, kept.pipeline, ref, output=output).output
    base, value = acceptance.value(source.oz), acceptance.value(kept.exact)
    oz_size, best_size = _sizes(evaluator, program, source.oz, kept)
    return TuneResult(
        file=program.name,
        objective=config.metric,
        oz=Measure(oz_size, source.oz.instcount),
        pipeline=kept.pipeline,
        best=Measure(best_size, kept.exact.instcount),
        improvement_pct=(base - value) / base * 100 if base else 0.0,
        evaluations=source.evaluations,
        seconds=time.monotonic() - start,
        oz_seconds=source.oz.seconds,
        validated=kept.validated,
        validation=kept.validation,
        method=config.method,
        discarded=kept.discarded,
        output=artifact,
        runners_up=_exact_runners_up(
            evaluator, program, source.runners_up(config.runners_up), kept, acceptance
        ),
        genome=kept.genome,
        proposals=source.report(kept.discarded),
    )


def _sizes(evaluator: Evaluator, program: Program, oz: EvalResult, kept) -> tuple:
    """Binary sizes (llc-19) of -Oz and the kept list. The size objective measured them
    already; for instruction count they are measured now, and are None where code
    generation fails (the result stands: instruction count needs no code)."""
    if oz.size is not None and kept.exact.size is not None:
        return oz.size, kept.exact.size
    results = dict(evaluator.run([Task(program, OZ, EXACT), Task(program, kept.pipeline, EXACT)]))
    return tuple(r.size if r.ok else None for r in (results[0], results[1]))


def _exact_runners_up(
    evaluator: Evaluator, program: Program, texts: list[str], kept, acceptance: Acceptance
) -> tuple[tuple[str, int, int, float], ...]:
    """(pipeline, size, instcount, improvement %) of each list that still beats -Oz when
    measured with llc-19, like the winner (the kept list itself left out)."""
    texts = [t for t in texts if t != kept.pipeline]
    base = acceptance.value(acceptance.oz)
    out = []
    ref = acceptance.objective
    for index, r in evaluator.run([Task(program, t, ref) for t in texts]):
        value = acceptance.value(r) if r.ok else None
        if value is not None and value < base:
            out.append((texts[index], r.size, r.instcount, (base - value) / base * 100))
    return tuple(sorted(out, key=lambda row: (-row[3], texts.index(row[0]))))


def propose(model: PassListModel, program: Program, k: int) -> list[Candidate]:
    """The model's candidates for ``program``; a model that fails gives one empty
    candidate with the reason (a model's failure must not stop a batch)."""
    try:
        return list(model.propose(program, k))[:k]
    except LLMCError as err:
        return [Candidate(None, f"model failed: {err}")]
    except Exception as err:  # noqa: BLE001 - whatever a model back end raises
        return [Candidate(None, f"model failed: {type(err).__name__}: {err}")]
