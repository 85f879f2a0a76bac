"""-Oz as an editable pipeline tree: exact expansion, edits opt-19 accepts, and search
and minimization over edited -Oz genes."""

from __future__ import annotations

import random
import re
import time

import pytest

from conftest import exact_size
from llmcompiler.engine import Objective
from llmcompiler.errors import PipelineError
from llmcompiler.pipeline import Pass, parse_tree, render
from llmcompiler.pipeline.diff import describe
from llmcompiler.pipeline.oz import OzVariant, oz_text, template
from llmcompiler.search.minimize import minimize
from llmcompiler.search.run import FAILED, Budget, SearchRun
from llmcompiler.search.space import OZ_GENE, pipeline_text
from llmcompiler.search.tuner import Measure, TuneResult, coreset_genomes


def test_tree_round_trips_and_equals_default_oz(programs):
    oz = template()
    assert render(oz.nodes, {}) == oz_text()
    assert len(oz.names) > 90 and "loop-unroll<O2>" in oz.names
    assert not any(oz.names[i].startswith("require<") for i in oz.editable)
    for name in ("loops.c", "switch.c"):
        assert exact_size(programs[name], render(oz.nodes, {})) == exact_size(
            programs[name], "default<Oz>"
        )


def test_parse_tree_errors():
    tree = parse_tree("a,b(c,d<x;y>(e)),f").nodes
    assert render(tree, {1: None, 3: "g"}) == "a,b(d<x;y>(e)),g"
    assert render(parse_tree("a(b)").nodes, {0: None}) == ""  # empty adaptors are dropped
    with pytest.raises(PipelineError, match=r"'a\(b,c\(': empty pass name at offset 6"):
        parse_tree("a(b,c(")
    with pytest.raises(PipelineError, match=r"'a\)': unbalanced '\)' at offset 1"):
        parse_tree("a)")


def test_alternatives_flip_boolean_options():
    oz = template()
    late = max(i for i, n in enumerate(oz.names) if ";switch-to-lookup" in n)
    alternatives = oz.alternatives(late)
    assert alternatives[0] is None
    flipped = [a for a in alternatives[1:] if "no-switch-to-lookup" in a]
    assert (
        len(flipped) == 1
        and flipped[0].replace("no-switch-to-lookup", "switch-to-lookup") == (oz.names[late])
    )
    assert oz.alternatives(oz.names.index("globaldce")) == [None]
    sroa = oz.names.index("sroa<modify-cfg>")
    assert oz.alternatives(sroa) == [None, "sroa<preserve-cfg>"]
    combine = oz.names.index("instcombine<max-iterations=1;no-use-loop-info;no-verify-fixpoint>")
    assert oz.alternatives(combine) == [
        None,
        "instcombine<max-iterations=2;no-use-loop-info;no-verify-fixpoint>",
        "instcombine<max-iterations=4;no-use-loop-info;no-verify-fixpoint>",
        "instcombine<max-iterations=1;use-loop-info;no-verify-fixpoint>",
    ]


def test_numeric_options_take_other_values_that_opt_accepts(programs):
    """bonus-inst-threshold and max-iterations are part of the search space: each value
    search may give them is a pipeline opt-19 runs, and one makes strings.c smaller."""
    oz, program = template(), programs["strings.c"]
    numeric = [
        (i, a)
        for i in oz.editable
        for a in oz.alternatives(i)[1:]
        if re.search(r"(bonus-inst-threshold|max-iterations)=[024];", a)
    ]
    assert {a.split("<")[0] for _, a in numeric} == {"simplifycfg", "instcombine"}
    plain = exact_size(program, oz.variant(()).name)
    sizes = {exact_size(program, oz.variant(((i, a),)).name) for i, a in numeric}
    assert 0 < min(sizes) < plain


def test_random_edits_are_valid_for_opt(programs):
    """Twenty random edit chains: every edited -Oz is a pipeline opt-19 runs."""
    oz, rng, program = template(), random.Random(3), programs["loops.c"]
    gene = None
    for _ in range(20):
        gene = oz.edit(rng, gene)
        assert gene.name == render(oz.nodes, dict(gene.edits))
        assert exact_size(program, gene.name) > 0


def test_minimize_undoes_edits_that_do_not_help(programs, evaluator):
    oz = template()
    program = programs["recursion.c"]
    unroll = oz.names.index("loop-unroll<O2>")
    vectorize = next(i for i, n in enumerate(oz.names) if n.startswith("loop-vectorize"))
    gene = oz.variant(((unroll, None), (vectorize, None)))  # recursion.c has few loops
    run = SearchRun(evaluator, program, Objective(), Budget(None, None))
    out = minimize(run, (gene,))
    (base,) = run.evaluate([(OZ_GENE,)])
    (final,) = run.evaluate([out])
    assert final[0] <= run.evaluate([(gene,)])[0][0]
    if final[0] == base[0]:  # the edits did nothing: back to plain -Oz
        assert out == (OZ_GENE,)
    for g in out:
        if isinstance(g, OzVariant):
            for edit in g.edits:  # every edit left is needed
                fewer = tuple(e for e in g.edits if e != edit)
                trial = (oz.variant(fewer) if fewer else OZ_GENE,)
                assert run.evaluate([trial])[0][0] > final[0]


def test_coreset_keeps_nested_lists_whole():
    oz = template()
    edited = oz.variant(((oz.names.index("loop-unroll<O2>"), None),)).name
    flat, nested = coreset_genomes(("function(gvn),default<Oz>", f"{edited},function(gvn)"))
    assert pipeline_text(flat) == "function(gvn),default<Oz>"
    assert len(nested) == 1 and nested[0].name == f"{edited},function(gvn)"
    assert pipeline_text(nested) == f"{edited},function(gvn)"


def test_result_summary_shows_edits_not_the_full_text():
    oz = template()
    unroll = oz.names.index("loop-unroll<O2>")
    gene = oz.variant(((unroll, None), (oz.names.index("sroa<modify-cfg>"), "sroa<preserve-cfg>")))
    genome = (Pass("mem2reg", "function"), gene, Pass("globaldce", "module"))
    m = Measure(1, 1)
    r = TuneResult(
        "f.c", "size", m, pipeline_text(genome), m, 0.0, 1, 0.1, None, "", "local", genome=genome
    )
    sroa = oz.names.index("sroa<modify-cfg>")
    assert r.summary() == (
        f"mem2reg + -Oz[sroa#{sroa} modify-cfg→preserve-cfg; -loop-unroll#{unroll}] + globaldce"
    )
    assert r.passes == 3 and r.to_json()["best"]["summary"] == r.summary()


def test_summary_finds_every_copy_of_oz_in_opaque_text():
    oz = template()
    text = oz_text()
    gvn = oz.names.index("gvn<>")
    edited = oz.variant(((gvn, None),)).name
    assert describe(f"{edited},function(gvn),{text},function(lower-switch)") == (
        f"-Oz[-gvn#{gvn}] + gvn + -Oz + lower-switch"
    )
    assert describe(f"{text},function(gvn)") == "-Oz + gvn"
    assert describe("default<Oz>") == "-Oz"
    assert describe("function(mem2reg),llmc-narrow,default<Oz>") == "mem2reg,llmc-narrow,-Oz"
    added = oz.variant(((gvn, "gvn<>,sroa"),)).name
    after = oz.names[gvn + 1].split("<")[0]
    assert describe(added) == f"-Oz[+sroa before {after}#{gvn + 1}]"
    assert describe(f"{text},function(sroa)") == "-Oz + sroa"
    assert describe("not a (pipeline") == "not a (pipeline"
    long = oz.variant(((gvn, "gvn<>," + ",".join(["sroa", "gvn", "dse"] * 4)),)).name
    assert describe(long) == f"-Oz[+12 passes (sroa … dse) before {after}#{gvn + 1}]"


def test_crossover_joins_the_parents_oz_edits():
    from llmcompiler.search.space import crossover

    oz = template()
    i, j = oz.editable[3], oz.editable[40]
    a = (Pass("function(gvn)", "module"), oz.variant(((i, None),)))
    b = (oz.variant(((j, None),)), Pass("mergefunc", "module"))
    children = {crossover(random.Random(s), a, b, 40, oz) for s in range(40)}
    joined = (a[0], oz.variant(((i, None), (j, None))))
    assert joined in children  # a with both parents' edits
    assert any(c != joined for c in children)  # one-point crossovers still happen
    # without the template (or without edits on both sides) only one-point crossover
    assert joined not in {crossover(random.Random(s), a, b, 40) for s in range(40)}


def test_sweep_tries_every_single_edit_and_joins_the_helpful_ones(programs, evaluator):
    from llmcompiler.search.strategies import sweep

    program = programs["loops.c"]
    oz = template()
    run = SearchRun(evaluator, program, Objective(metric="instcount"), Budget(None, 10_000))
    run.evaluate([(OZ_GENE,)])
    sweep(run, random.Random(0), oz, share=1.0)
    singles = sum(len(oz.alternatives(i)) for i in oz.editable)
    assert run.evaluations >= 1 + singles
    base = run.scores[pipeline_text((OZ_GENE,))][0]
    helped = [
        g[0]
        for t, g in run.genomes.items()
        if len(g) == 1
        and isinstance(g[0], OzVariant)
        and len(g[0].edits) == 1
        and run.scores[t][0] < base
    ]
    assert len(helped) >= 2  # loops.c: two single edits each save instructions
    assert any(  # and their join was tried
        isinstance(g[0], OzVariant) and len(g[0].edits) == len(helped)
        for g in run.genomes.values()
        if len(g) == 1
    )


def test_a_timed_sweep_stops_at_its_share_of_the_budget(programs, evaluator):
    """The sweep's edits are streamed to the workers and stopped at its share of the
    time budget (a list still running then is stopped too)."""
    from llmcompiler.search.strategies import sweep

    run = SearchRun(evaluator, programs["float.c"], Objective(), Budget(4.0))
    run.evaluate([(OZ_GENE,)])
    start = time.monotonic()
    sweep(run, random.Random(0), template(), share=0.1)
    assert time.monotonic() - start < 0.1 * 4.0 + 1.5  # the share, the joins, slack
    assert run.evaluations > 1


def test_cheap_lists_go_first_only_when_the_seeds_would_overrun(programs, evaluator):
    from llmcompiler.search.strategies import _cost

    assert _cost((OZ_GENE,)) == 105
    assert _cost((Pass("function(gvn,sroa<modify-cfg>)", "module"),)) == 2
    program = programs["loops.c"]
    run = SearchRun(evaluator, program, Objective(), Budget(10.0))
    run.times[pipeline_text((OZ_GENE,))] = 0.01  # 45 lists of 10 ms fit 10 s
    assert not run.expensive(45)
    run.times[pipeline_text((OZ_GENE,))] = 2.0  # 45 lists of 2 s on 2 workers do not
    assert run.expensive(45)
    assert not SearchRun(evaluator, program, Objective(), Budget(None, 50)).expensive(45)


def test_when_time_is_short_the_first_seeds_keep_their_order(programs, evaluator):
    """With seeds that would overrun the budget, the first batch of seeds (the model's
    picks, the coreset's best) is tried in its order before the cheap lists of the rest:
    the zstd module's winning list ranked 8th and was never reached at 1 s."""
    from llmcompiler.search.strategies import BATCH, local_search

    first = [(Pass(f"default<Oz>,function({p})", "module"),) for p in _FUNCTION_PASSES]
    cheap = [(Pass(f"function({p},sroa<modify-cfg>)", "module"),) for p in _FUNCTION_PASSES]
    run = SearchRun(evaluator, programs["loops.c"], Objective(), Budget(60.0, BATCH + 2))
    run.times[pipeline_text((OZ_GENE,))] = 10.0  # 20 lists of 10 s do not fit a minute
    streams = []
    stream = run.stream

    def recording(genomes, patient=0, force=False):
        streams.append((list(genomes), patient))
        return stream(genomes, patient, force)

    run.stream = recording
    local_search(run, random.Random(0), [], first + cheap)
    order, patient = streams[0]
    assert patient == 2  # the first round, one per worker, is patient
    assert order[:BATCH] == first[:BATCH]  # the first batch in its order
    assert order[BATCH : BATCH + 2] == cheap[:2]  # then cheap lists


_FUNCTION_PASSES = ("sroa", "gvn", "dse", "sccp", "adce", "bdce", "licm", "reassociate")


def test_minimize_stops_when_the_whole_time_budget_is_spent(programs, evaluator):
    """A long list minimized after its budget: one measurement of it, no round of
    removals, and the list comes back as it was (it scores as well as itself)."""
    program = programs["loops.c"]
    names = ["instcombine<no-verify-fixpoint>", "simplifycfg", "early-cse", "gvn", "dse"] * 4
    genome = tuple(Pass(n, "function") for n in names)
    run = SearchRun(evaluator, program, Objective(), Budget(0.001, None))
    time.sleep(0.01)
    assert minimize(run, genome) == genome and len(run.scores) == 1
    untimed = SearchRun(evaluator, program, Objective(), Budget(None, None))
    assert len(minimize(untimed, genome)) < len(genome)


def test_the_first_round_finishes_past_the_end_of_the_budget(programs):
    """With the budget spent before search starts, the first list of each worker still
    runs to the end (a list cut off by the budget would be time spent for nothing); no
    other list is started once it is done, and a list evaluated the usual way is not
    started. A patient list is still cut at PATIENT_FACTOR times -Oz's time."""
    from llmcompiler.engine import Evaluator
    from llmcompiler.search.strategies import local_search

    program = programs["loops.c"]
    seeds = [
        (Pass(p, "module"),)
        for p in (
            "function(sroa,instcombine<no-verify-fixpoint>)",
            "function(sroa,gvn)",
            "default<O3>,default<Oz>,default<O3>",
        )
    ]
    with Evaluator(jobs=1, timeout=60) as ev:
        run = SearchRun(ev, program, Objective(metric="instcount"), Budget(0.001, None))
        run.timeout = 30.0  # the slow-list limit; the budget's end cuts it
        time.sleep(0.01)
        local_search(run, random.Random(0), [], seeds)
        assert set(run.scores) == {pipeline_text(seeds[0])} and run.evaluations == 1
        assert run.scores[pipeline_text(seeds[0])] != FAILED
        (late,) = run.evaluate([seeds[2]])
        assert late == FAILED and pipeline_text(seeds[2]) not in run.scores
        # past the budget, a patient list still stops at PATIENT_FACTOR times -Oz's time
        run.times[pipeline_text((OZ_GENE,))] = 1e-5
        (slow,) = run.evaluate([(Pass("default<O3>,default<O2>", "module"),)], patient=True)
    assert slow == FAILED


def test_a_slow_first_list_does_not_hold_the_other_worker(programs):
    """Seeds are streamed: while one worker runs a slow patient list past the budget's
    end, the other takes the next lists (on the pyroaring module, the first lists took
    3.5 s and 8.2 s and the winner, third, never started within 10 s)."""
    from llmcompiler.engine import Evaluator

    program = programs["float.c"]
    slow = (Pass(",".join(["default<O3>"] * 300), "module"),)
    fast = [(Pass(f"function({p})", "module"),) for p in _FUNCTION_PASSES[:4]]
    with Evaluator(jobs=2, timeout=60) as ev:
        run = SearchRun(ev, program, Objective(metric="instcount"), Budget(0.001, None))
        run.timeout = 30.0
        time.sleep(0.01)
        run.stream([slow, *fast], patient=2)
        assert ev.stats.evaluations == 5
    assert all(run.scores[pipeline_text(g)] != FAILED for g in [slow, *fast])
