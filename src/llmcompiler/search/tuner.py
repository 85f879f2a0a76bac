"""``optimize``: search pass lists for one program, minimize, measure exactly,
validate, and never return anything worse than -Oz."""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field

from llmcompiler.errors import EvaluationError, LLMCError, PipelineError
from llmcompiler.evaluate import Evaluator, Objective, Task
from llmcompiler.llvm.objsize import undefined_symbols
from llmcompiler.model.base import Candidate, PassListModel
from llmcompiler.passes import Pass, load_vocabulary, parse_pipeline, steps_in
from llmcompiler.program import Program
from llmcompiler.search.minimize import minimize
from llmcompiler.search.oz import OzVariant, leaves, parse_tree, render
from llmcompiler.search.oz import template as oz_template
from llmcompiler.search.run import Budget, SearchRun
from llmcompiler.search.space import OZ, Genome, genes, pipeline_text
from llmcompiler.search.strategies import METHODS
from llmcompiler.search.validate import RunSpec, Validator

OZ_PIPELINE = "default<Oz>"
RUNNERS_UP = 8  # lists besides the winner reported for coreset building
#: Search gives up on a list that takes SLOW_FACTOR times as long as -Oz (and at least
#: SLOW_MIN_SECONDS): the attributor, for one, can take 30 s where -Oz takes 0.1 s.
SLOW_FACTOR = 20.0
SLOW_MIN_SECONDS = 0.5
#: Search stops early enough to leave RESERVE_FACTOR times -Oz's time (at most
#: RESERVE_SHARE of the budget) for minimization, exact measurement and checks.
RESERVE_FACTOR = 4.0
RESERVE_SHARE = 0.3
#: Final numbers: llc-19's object file, exact (search uses the fast in-process emitter).
EXACT = Objective(metric="size", size_path="llc")


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


@dataclass(frozen=True)
class Measure:
    size: int
    instcount: int


@dataclass(frozen=True)
class Proposal:
    """One pass list a model proposed, as the compiler measured it (llc-19).

    ``size``/``instcount`` are None when the list was invalid or failed (``error`` says
    why); ``error`` is also set for a list that ran but was rejected by a check.
    """

    pipeline: str | None
    error: str | None
    size: int | None
    instcount: int | None


@dataclass(frozen=True)
class TuneResult:
    """The outcome for one program. ``validated`` is True/False, or None when not checked."""

    file: str
    objective: str
    oz: Measure
    pipeline: str
    best: Measure
    improvement_pct: float
    evaluations: int
    seconds: float
    validated: bool | None
    validation: str
    method: str
    discarded: tuple[tuple[str, str], ...] = ()  # (pipeline, why) of rejected winners
    output: bytes | None = None
    #: other lists that beat -Oz in search: (pipeline, size, instcount, improvement %),
    #: measured with the fast emitter and not minimized; autotuning stores them.
    runners_up: tuple[tuple[str, int, int, float], ...] = ()
    #: the returned list as search's genes (an edited -Oz is one gene)
    genome: Genome = ()
    #: the model's candidates, in the model's order (empty without a model)
    proposals: tuple[Proposal, ...] = ()

    def summary(self) -> str:
        """The pass list with any edited -Oz shown by its edits instead of its full text."""
        names, parts, run = oz_template().names, [], []
        for gene in (*self.genome, None):
            if gene is None or isinstance(gene, OzVariant):
                if run:
                    parts.append(pipeline_text(tuple(run)))
                    run = []
                if gene is not None:
                    parts.append(gene.describe(names))
            else:
                run.append(gene)
        return ",".join(parts) or self.pipeline

    @property
    def needs_llmc(self) -> bool:
        """True when the list holds llmcompiler's own steps: only ``llmc opt`` can
        reproduce it, not opt-19."""
        return bool(steps_in(self.pipeline))

    @property
    def passes(self) -> int:
        """Length of the returned list in genes (-Oz, edited or not, counts as one)."""
        return len(self.genome)

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "objective": self.objective,
            "oz": {"size": self.oz.size, "instcount": self.oz.instcount},
            "best": {
                "pipeline": self.pipeline,
                "summary": self.summary(),
                "size": self.best.size,
                "instcount": self.best.instcount,
            },
            "needs_llmc": self.needs_llmc,
            "improvement_pct": round(self.improvement_pct, 3),
            "evaluations": self.evaluations,
            "seconds": round(self.seconds, 3),
            "validated": self.validated,
            "validation": self.validation,
            "method": self.method,
            "discarded": [{"pipeline": p, "reason": r} for p, r in self.discarded],
            **(
                {
                    "proposals": [
                        {"pipeline": p.pipeline, "error": p.error, "size": p.size}
                        for p in self.proposals
                    ]
                }
                if self.proposals
                else {}
            ),
        }


_AVAILABLE_EXTERNALLY = re.compile(
    r"^define available_externally [^@]*@(\"[^\"]+\"|[\w.$]+)\(", re.M
)


class _LinkageCheck:
    """Rejects a list that leaves a call to an ``available_externally`` function (a C99
    or GNU inline definition) that -Oz inlined: codegen never emits such a body, so the
    object is smaller only because code is missing, and it does not link on its own."""

    def __init__(self, evaluator: Evaluator, program: Program) -> None:
        self.evaluator, self.program = evaluator, program
        ir = (evaluator.evaluate(program, "", EXACT, output="ir").output or b"").decode()
        self.names = {n.strip('"') for n in _AVAILABLE_EXTERNALLY.findall(ir)}
        self.oz_undefined: frozenset[str] = frozenset()
        if self.names:
            self.oz_undefined = self._undefined(OZ_PIPELINE)

    def _undefined(self, pipeline: str) -> frozenset[str]:
        result = self.evaluator.evaluate(self.program, pipeline, EXACT, output="object")
        return undefined_symbols(result.output) if result.ok else frozenset()

    def dropped(self, pipeline: str) -> str | None:
        """Why ``pipeline`` is rejected, or None when it keeps every body -Oz needs."""
        if not self.names or pipeline == OZ_PIPELINE:
            return None
        lost = (self._undefined(pipeline) - self.oz_undefined) & self.names
        if not lost:
            return None
        return (
            f"calls {', '.join(sorted(lost))} where -Oz inlined it; an available_externally "
            "body is never emitted, so the object needs a definition from elsewhere"
        )


def coreset_genomes(lists: tuple[str, ...]) -> list[Genome]:
    """Parse coreset pass lists, skipping any that the vocabulary does not accept."""
    vocabulary = load_vocabulary()
    oz_names = set(oz_template().names)
    out = []
    for text in lists:
        if text == OZ_PIPELINE:
            out.append((OZ,))
            continue
        try:
            tree = parse_tree(text)
        except ValueError:
            continue
        try:
            passes = parse_pipeline(text, vocabulary).passes
            if pipeline_text(passes) == render(tree, {}):
                out.append(passes)
                continue
        except PipelineError:
            pass
        # A list with nesting that flat pass lists cannot express (an edited -Oz) is kept
        # whole, as one gene that search can extend but not edit, unless it holds a pass
        # the vocabulary excludes.
        if not any(vocabulary.exclusion(n) and n not in oz_names for n in leaves(tree)):
            out.append((Pass(text, "module"),))
    return out


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
        ValueError: unknown method or metric.
    """
    if config.method == "model":
        return _model_only(evaluator, program, config, output)
    if config.method not in METHODS:
        raise ValueError(
            f"method must be one of {sorted([*METHODS, 'model'])}, not {config.method!r}"
        )
    start = time.monotonic()
    seeds = config.coreset
    if config.model is not None:
        asked = propose(config.model, program, config.candidates)
        seeds = tuple(c.pipeline for c in asked if c.pipeline) + seeds
    run = SearchRun(evaluator, program, Objective(metric=config.metric), config.budget)
    primary = 0 if config.metric == "size" else 1  # index into (size, instcount)
    # -Oz measured both ways at once: with llc-19 (the reference) and as search scores it
    both = dict(
        evaluator.run(
            [Task(program, OZ_PIPELINE, EXACT), Task(program, pipeline_text((OZ,)), run.objective)]
        )
    )
    oz = both[0]
    if not oz.ok:
        raise EvaluationError(f"{program.name}: -Oz fails: {oz.status}: {oz.error}")
    run.record((OZ,), both[1])
    run.evaluations += 1
    oz_seconds = run.times[pipeline_text((OZ,))]
    run.timeout = max(SLOW_MIN_SECONDS, SLOW_FACTOR * oz_seconds)
    if config.budget.seconds is not None:
        run.reserve = min(RESERVE_SHARE * config.budget.seconds, RESERVE_FACTOR * oz_seconds)
    oz_measure = Measure(oz.size, oz.instcount)
    linkage = _LinkageCheck(evaluator, program)
    rng = random.Random(config.seed)
    METHODS[config.method](
        run, rng, genes(load_vocabulary()), coreset_genomes(seeds), oz_template()
    )

    validator, validation = _start_validation(program, config)
    discarded: list[tuple[str, str]] = []
    chosen = None
    oz_fast = run.scores[pipeline_text((OZ,))]
    try:
        tried = 0
        for score, text in run.ranked():
            genome = run.genomes[text]
            if tried >= config.attempts or score[0] > oz_fast[0]:
                break  # ranked best first: the rest are worse than -Oz
            if score[0] == oz_fast[0] and genome != (OZ,):
                continue  # no better than -Oz: not worth minimizing and measuring
            tried += 1
            if config.minimize and genome != (OZ,):
                genome = minimize(run, genome)
            pipeline = OZ_PIPELINE if genome == (OZ,) else pipeline_text(genome)
            exact = evaluator.evaluate(
                program, pipeline, EXACT, output="bitcode" if validator else None
            )
            if not exact.ok:
                discarded.append((pipeline, f"{exact.status}: {exact.error}"))
                continue
            dropped = linkage.dropped(pipeline)
            if dropped:
                discarded.append((pipeline, dropped))
                continue
            value, base = (exact.size, exact.instcount)[primary], (oz.size, oz.instcount)[primary]
            if value > base or (value == base and pipeline != OZ_PIPELINE):
                discarded.append((pipeline, "no better than -Oz when measured with llc-19"))
                continue
            if validator:
                same, why = validator.check(exact.output)
                if not same:
                    discarded.append((pipeline, f"validation failed: {why}"))
                    continue
                validation = why
            chosen = (pipeline, exact, genome)
            break
        if chosen is None:  # nothing better passed: -Oz, validated or not
            if validator:
                validation = _check_oz(evaluator, program, validator, discarded)
            chosen = (OZ_PIPELINE, oz, (OZ,))
    finally:
        if validator:
            validator.close()
    pipeline, best, genome = chosen
    runners_up = []
    for score, text in run.ranked()[:RUNNERS_UP]:
        if score[0] < oz_fast[0]:
            size, instcount = run.results[text]
            value = (size, instcount)[primary]
            runners_up.append((text, size, instcount, (oz_fast[0] - value) / oz_fast[0] * 100))
    validated = None if validator is None else not validation.startswith("validation failed")
    artifact = None
    if output is not None:
        artifact = evaluator.evaluate(program, pipeline, EXACT, output=output).output
    base = (oz.size, oz.instcount)[primary]
    value = (best.size, best.instcount)[primary]
    return TuneResult(
        file=program.name,
        objective=config.metric,
        oz=oz_measure,
        pipeline=pipeline,
        best=Measure(best.size, best.instcount),
        improvement_pct=(base - value) / base * 100 if base else 0.0,
        evaluations=run.evaluations,
        seconds=time.monotonic() - start,
        validated=validated,
        validation=validation,
        method=config.method,
        discarded=tuple(discarded),
        output=artifact,
        runners_up=tuple(runners_up),
        genome=genome,
    )


def _start_validation(program: Program, config: TuneConfig) -> tuple[Validator | None, str]:
    """The validator the config asks for (None: not requested, or no ``main``) and the
    validation text to report until a candidate is checked."""
    if not config.validate:
        return None, "not requested"
    if not program.has_main:
        return None, "not validated (no main)"
    return Validator(program, config.run), "not requested"


def _check_oz(evaluator: Evaluator, program: Program, validator: Validator, discarded: list) -> str:
    """Validate -Oz itself (the fallback); return the validation text.

    When -Oz's own build differs from the -O0 build, the program's behaviour depends on
    optimization (undefined behaviour, or reading uninitialized memory): the text says
    so, since no pass list can be checked against such a reference."""
    failed = dict(discarded).get(OZ_PIPELINE)
    if failed is None:
        with_code = evaluator.evaluate(program, OZ_PIPELINE, EXACT, output="bitcode")
        same, why = validator.check(with_code.output)
        if same:
            return why
        failed = f"validation failed: {why}"
    return f"{failed} {OZ_DIFFERS}"


#: Added to the validation text when -Oz itself fails the differential check.
OZ_DIFFERS = (
    "(-Oz itself differs from the -O0 build: the program's behaviour depends on "
    "optimization, e.g. undefined behaviour; -Oz is returned as clang gives it)"
)


def propose(model: PassListModel, program: Program, k: int) -> list[Candidate]:
    """The model's candidates for ``program``; a model that fails gives one empty
    candidate with the reason (a model's failure must not stop a batch)."""
    try:
        return list(model.propose(program, k))[:k]
    except LLMCError as err:
        return [Candidate(None, f"model failed: {err}")]
    except Exception as err:  # noqa: BLE001 - whatever a model back end raises
        return [Candidate(None, f"model failed: {type(err).__name__}: {err}")]


def _model_only(
    evaluator: Evaluator, program: Program, config: TuneConfig, output: str | None
) -> TuneResult:
    """Method "model": measure -Oz and the model's candidates with llc-19 (in parallel),
    keep the best that beats -Oz and passes the checks, else -Oz. Evaluations counted:
    -Oz and each distinct valid candidate."""
    start = time.monotonic()
    if config.model is None:
        raise ValueError('method "model" needs a model (TuneConfig.model)')
    primary = 0 if config.metric == "size" else 1
    asked = propose(config.model, program, config.candidates)
    pipelines = list(dict.fromkeys(c.pipeline for c in asked if c.pipeline))
    validator, validation = _start_validation(program, config)
    want = "bitcode" if validator else None
    tasks = [Task(program, OZ_PIPELINE, EXACT)]
    tasks += [Task(program, p, EXACT, output=want) for p in pipelines]
    results = dict(evaluator.run(tasks))
    oz = results[0]
    if not oz.ok:
        raise EvaluationError(f"{program.name}: -Oz fails: {oz.status}: {oz.error}")
    measured = {p: results[i + 1] for i, p in enumerate(pipelines)}
    linkage = _LinkageCheck(evaluator, program)
    base = (oz.size, oz.instcount)[primary]
    chosen = None
    discarded: list[tuple[str, str]] = []
    try:
        order = sorted(
            (p for p in pipelines if measured[p].ok),
            key=lambda p: ((measured[p].size, measured[p].instcount)[primary], pipelines.index(p)),
        )
        for p in order:
            r = measured[p]
            if (r.size, r.instcount)[primary] >= base:
                break
            why = linkage.dropped(p)
            if why is None and validator:
                same, text = validator.check(r.output)
                why = None if same else f"validation failed: {text}"
                validation = text if same else validation
            if why is not None:
                discarded.append((p, why))
                continue
            chosen = (p, r)
            break
        if chosen is None:
            if validator:
                validation = _check_oz(evaluator, program, validator, discarded)
            chosen = (OZ_PIPELINE, oz)
    finally:
        if validator:
            validator.close()
    pipeline, best = chosen
    rejected = dict(discarded)
    proposals = []
    for c in asked:
        if c.pipeline is None:
            proposals.append(Proposal(None, c.error, None, None))
            continue
        r = measured[c.pipeline]
        error = None if r.ok else f"{r.status}: {r.error}"
        proposals.append(
            Proposal(
                c.pipeline,
                error or rejected.get(c.pipeline),
                r.size if r.ok else None,
                r.instcount if r.ok else None,
            )
        )
    value = (best.size, best.instcount)[primary]
    artifact = None
    if output is not None:
        artifact = evaluator.evaluate(program, pipeline, EXACT, output=output).output
    return TuneResult(
        file=program.name,
        objective=config.metric,
        oz=Measure(oz.size, oz.instcount),
        pipeline=pipeline,
        best=Measure(best.size, best.instcount),
        improvement_pct=(base - value) / base * 100 if base else 0.0,
        evaluations=1 + len(pipelines),
        seconds=time.monotonic() - start,
        validated=None if validator is None else not validation.startswith("validation failed"),
        validation=validation,
        method="model",
        discarded=tuple(discarded),
        output=artifact,
        genome=(OZ,) if pipeline == OZ_PIPELINE else (Pass(pipeline, "module"),),
        proposals=tuple(proposals),
    )
