"""The LLVM 19 pass vocabulary, pipeline syntax and legacy flags, checked against opt-19."""

from __future__ import annotations

import random
import subprocess

import pytest

from conftest import FIXTURES
from llmcompiler.errors import PipelineError
from llmcompiler.pipeline import (
    LEVELS,
    Pass,
    Pipeline,
    from_legacy,
    legacy_table,
    load_vocabulary,
    parse_pipeline,
    random_pipeline,
    validate,
)

TINY = str(FIXTURES / "tiny.ll")


def _opt(pipeline: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["opt-19", f"-passes={pipeline}", TINY, "-disable-output", *extra],
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def vocab():
    return load_vocabulary()


@pytest.fixture(scope="module")
def oz_text() -> str:
    proc = _opt("default<Oz>", "-print-pipeline-passes")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _error(text: str, vocabulary=None) -> str:
    with pytest.raises(PipelineError) as info:
        parse_pipeline(text, vocabulary)
    return str(info.value)


# -- formatting and parsing ---------------------------------------------------


def test_format_groups_neighbours_by_level():
    pipeline = Pipeline(
        (
            Pass("mem2reg", "function"),
            Pass("licm", "loop-mssa"),
            Pass("loop-rotate", "loop"),
            Pass("loop-deletion", "loop"),
            Pass("globaldce", "module"),
            Pass("inline", "cgscc"),
            Pass("function-attrs", "cgscc"),
            Pass("constmerge", "module"),
        )
    )
    text = pipeline.format()
    assert text == (
        "function(mem2reg,loop-mssa(licm),loop(loop-rotate,loop-deletion)),globaldce,"
        "cgscc(inline,function-attrs),constmerge"
    )
    assert str(pipeline) == text and len(pipeline) == 8 and list(pipeline) == list(pipeline.passes)
    assert parse_pipeline(text) == pipeline
    assert _opt(text).returncode == 0


def test_empty_pipeline_has_no_passes():
    assert Pipeline().format() == ""
    assert parse_pipeline("") == Pipeline() and parse_pipeline(" \n ") == Pipeline()


def test_parse_flattens_nested_adaptors_and_keeps_parameters():
    text = """module(ipsccp),
        cgscc(devirt<4>(inline, function<eager-inv;no-rerun>(sroa<modify-cfg>,
              loop-mssa(licm<allowspeculation>)))),
        coro-cond(coro-early),
        repeat<2>(function(simplifycfg<keep-loops;switch-range-to-icmp>)),
        function(loop-vectorize<no-interleave-forced-only;vectorize-forced-only;>)"""
    p = parse_pipeline(text)
    assert [(x.name, x.level) for x in p] == [
        ("ipsccp", "module"),
        ("inline", "cgscc"),
        ("sroa<modify-cfg>", "function"),
        ("licm<allowspeculation>", "loop-mssa"),
        ("coro-early", "module"),
        ("simplifycfg<keep-loops;switch-range-to-icmp>", "function"),
        ("simplifycfg<keep-loops;switch-range-to-icmp>", "function"),
        ("loop-vectorize<no-interleave-forced-only;vectorize-forced-only;>", "function"),
    ]
    assert p.passes[2].base == "sroa" and p.passes[5].base == "simplifycfg"
    assert parse_pipeline(p.format()) == p


def test_passes_take_the_level_llvm_gives_them():
    # A deeper pass inside a shallower adaptor is wrapped by LLVM; loop passes in plain loop(...).
    p = parse_pipeline("cgscc(mem2reg),module(indvars),function(licm),loop-mssa(loop(indvars))")
    assert [x.level for x in p] == ["function", "loop", "loop", "loop"]
    # Bare names at top level: the vocabulary's level, else LLVM's table, else module.
    flat = parse_pipeline("mem2reg,licm,globaldce,inline,loop-interchange,no-such-pass")
    assert [x.level for x in flat] == ["function", "loop-mssa", "module", "cgscc", "loop", "module"]
    assert flat.format() == (
        "function(mem2reg,loop-mssa(licm)),globaldce,cgscc(inline),function(loop(loop-interchange)),"
        "no-such-pass"
    )


def test_default_oz_pipeline_parses_and_round_trips_through_opt(oz_text, vocab):
    pipeline = parse_pipeline(oz_text)
    assert len(pipeline) > 100
    assert parse_pipeline(pipeline.format()) == pipeline
    proc = _opt(pipeline.format(), "-print-pipeline-passes")
    assert proc.returncode == 0, proc.stderr
    # Every pass of -Oz is in the vocabulary (as an Oz pass) or excluded with a reason.
    for p in pipeline:
        if vocab.exclusion(p.name) is None:
            vocab.check(p)
            assert vocab.get(p.name) in vocab.oz_passes, p.name
    oz_bases = {p.base for p in pipeline}
    assert {p.base for p in vocab.oz_passes} <= oz_bases


def test_hostile_pipelines_are_refused_not_expanded():
    deep = "module(" * 70 + "globaldce" + ")" * 70
    assert _error(deep).endswith("adaptors nested more than 64 deep at offset 454")
    assert _error("repeat<1000000>(function(sroa))") == (
        "invalid pipeline 'repeat<1000000>(function(sroa))': repeat<1000000> expands to more "
        "than 100000 passes at offset 0"
    )
    assert len(parse_pipeline("repeat<3>(function(sroa))")) == 3


def test_syntax_errors_are_precise():
    assert _error("function(sroa") == "invalid pipeline 'function(sroa': missing ')' at offset 13"
    assert _error("sroa,,gvn") == "invalid pipeline 'sroa,,gvn': empty pass name at offset 5"
    assert _error("function()") == "invalid pipeline 'function()': empty pass name at offset 9"
    assert _error("sroa)") == "invalid pipeline 'sroa)': unbalanced ')' at offset 4"
    assert _error("function(sroa)gvn") == (
        "invalid pipeline 'function(sroa)gvn': expected ',' or ')' but found 'g' at offset 14"
    )
    assert _error("sroa<modify-cfg") == (
        "invalid pipeline 'sroa<modify-cfg': unbalanced '<' or '>' in 'sroa<modify-cfg' at offset 0"
    )
    assert _error("sroa<a,b>") == (
        "invalid pipeline 'sroa<a,b>': unbalanced '<' or '>' in 'sroa<a' at offset 0"
    )
    assert _error("function(sr@a)") == (
        "invalid pipeline 'function(sr@a)': invalid pass name 'sr@a' at offset 9"
    )
    assert _error("sroa(gvn)") == (
        "invalid pipeline 'sroa(gvn)': 'sroa' is not an adaptor and cannot take '(' at offset 4"
    )
    assert _error("repeat(gvn)") == (
        "invalid pipeline 'repeat(gvn)': repeat needs a count, e.g. repeat<2>(...) at offset 0"
    )
    assert _error("function(cgscc(inline))") == (
        "invalid pipeline 'function(cgscc(inline))': 'cgscc(...)' cannot be nested inside "
        "function passes at offset 9"
    )
    # Offsets count in the text as written; long texts are shown around the offset.
    assert _error("function( sroa ,\n ,gvn)").endswith("empty pass name at offset 18")
    long = "function(" + "sroa," * 10 + "," + "sroa," * 20 + "gvn)"
    assert _error(long) == (
        "invalid pipeline '...sroa,sroa,sroa,sroa,sroa,sroa,sroa,sroa,,sroa,sroa,sroa,sroa,"
        "sroa,sroa,sroa,sroa...': empty pass name at offset 59"
    )


# -- the vocabulary -----------------------------------------------------------


def test_vocabulary_contents(vocab):
    assert vocab.llvm_version == 19
    assert len(vocab.passes) >= 90 and len(vocab.oz_passes) >= 50
    assert all(p.level in LEVELS for p in vocab.passes)
    names = [p.name for p in vocab.passes]
    assert len(names) == len(set(names))
    levels_by_base: dict[str, set[str]] = {}
    for p in vocab.passes:
        levels_by_base.setdefault(p.base, set()).add(p.level)
        assert vocab.notes[p.name]
    assert all(len(levels) == 1 for levels in levels_by_base.values())
    for name in (
        "gvn-sink",
        "unify-loop-exits",
        "structurizecfg",
        "fix-irreducible",
        "codegenprepare",
        "loop-bound-split",
        "instcombine",
        "verify",
    ):
        assert vocab.excluded[name] and name not in vocab and name not in names
    assert not set(names) & set(vocab.excluded)
    assert all(vocab.excluded.values())


def test_lookup_by_name_and_base(vocab):
    assert vocab.get("sroa<preserve-cfg>") == Pass("sroa<preserve-cfg>", "function")
    assert vocab.get("sroa").base == "sroa" and "sroa" in vocab
    assert vocab.get("licm<allowspeculation>") == Pass("licm", "loop-mssa")
    assert vocab.get("frobnicate") is None and "frobnicate" not in vocab and 3 not in vocab
    # Plain instcombine is excluded; variants with no-verify-fixpoint are fine in any order.
    assert vocab.get("instcombine") is None
    assert vocab.get("instcombine<max-iterations=1;no-use-loop-info;no-verify-fixpoint>")
    assert vocab.exclusion("instcombine<max-iterations=2>").startswith("aborts the process")
    assert vocab.exclusion("print<domtree>") == vocab.excluded["print"]


def test_vocabulary_errors(vocab):
    assert (
        _error("function(sroa,foo)", vocab) == "unknown pass 'foo' (not in the LLVM 19 vocabulary)"
    )
    assert _error("function(gvn-sink)", vocab).startswith(
        "pass 'gvn-sink' is excluded: nondetermin"
    )
    assert _error("function(instcombine)", vocab) == (
        "pass 'instcombine' is excluded: aborts the process ('Instruction Combining did not reach "
        "a fixpoint after 1 iterations') on 5 of the 60 test modules; write "
        "instcombine<no-verify-fixpoint>"
    )
    assert _error("function(licm)", vocab) == "pass 'licm' runs at loop-mssa level, not loop"
    assert (
        _error("function(globaldce)", vocab)
        == "pass 'globaldce' runs at module level, not function"
    )
    assert _error("function(loop-mssa(indvars))", vocab) == (
        "pass 'indvars' runs at loop level, not loop-mssa"
    )
    with pytest.raises(PipelineError, match="runs at module level, not function"):
        validate(Pipeline((Pass("globaldce", "function"),)), vocab)


def test_validate_accepts_vocabulary_pipelines_and_aliases(vocab):
    # MemorySSA-preserving passes may also run in a plain loop(...), except licm.
    text = "default<Oz>,function(loop(loop-rotate,loop-simplifycfg,indvars)),mergefunc"
    p = validate(text, vocab)
    assert p.passes[0] == Pass("default<Oz>", "module") and validate(p, vocab) is p
    assert validate("instcombine<no-verify-fixpoint>,licm,inline").format() == (
        "function(instcombine<no-verify-fixpoint>,loop-mssa(licm)),cgscc(inline)"
    )


def test_every_vocabulary_pass_runs_in_opt(vocab):
    whole = Pipeline(vocab.passes).format()
    proc = _opt(whole, "-verify-each")
    assert proc.returncode == 0, proc.stderr


def test_random_pipelines_are_reproducible_and_valid(vocab):
    a = [random_pipeline(random.Random(3), vocab, 1, 50) for _ in range(3)]
    b = [random_pipeline(random.Random(3), vocab, 1, 50) for _ in range(3)]
    assert a == b
    rng = random.Random(0)
    lengths = [len(random_pipeline(rng, vocab, 2, 9)) for _ in range(300)]
    assert min(lengths) == 2 and max(lengths) == 9
    for p in a:
        assert validate(p.format(), vocab) == p
    assert len(random_pipeline(rng, vocab, 0, 0)) == 0
    with pytest.raises(ValueError):
        random_pipeline(rng, vocab, 5, 4)


def test_pass_rejects_unknown_levels():
    with pytest.raises(ValueError, match="level must be one of"):
        Pass("mem2reg", "basic-block")


# -- legacy flags -------------------------------------------------------------


def test_legacy_conversion():
    conversion = from_legacy("-mem2reg -licm -constprop --gvn-sink -nonsense instcombine -Oz")
    assert conversion.pipeline.format() == (
        "function(mem2reg,loop-mssa(licm),gvn-sink,instcombine<no-verify-fixpoint>),default<Oz>"
    )
    assert conversion.unconverted == {
        "-constprop": "ConstantPropagation was removed in LLVM 12; instsimplify does its job",
        "-nonsense": "unknown legacy pass",
    }
    assert list(conversion.flagged) == ["--gvn-sink"]
    assert conversion.flagged["--gvn-sink"].startswith("nondeterministic")
    listed = from_legacy(["-loop-unswitch", "-sroa", "-loop-rotate", "-strip-debug-declare"])
    assert listed.unconverted["-loop-unswitch"].startswith("the legacy LoopUnswitch was removed")
    assert listed.pipeline.format() == (
        "function(sroa<preserve-cfg>,loop-mssa(loop-rotate)),strip-debug-declare"
    )
    assert listed.flagged == {"-strip-debug-declare": "not in the search vocabulary"}


def test_every_legacy_target_is_accepted_by_opt(vocab):
    table = legacy_table()
    passes = [Pass(e["pass"], e["level"]) for e in table.values() if "pass" in e]
    assert len(passes) >= 120 and all("none" in e for e in table.values() if "pass" not in e)
    for p in passes:  # the level in the table agrees with the vocabulary's
        if vocab.exclusion(p.name) is None and p.name in vocab:
            vocab.check(p)
    # -print-pipeline-passes parses the whole pipeline without running it.
    proc = _opt(Pipeline(tuple(passes)).format(), "-print-pipeline-passes")
    assert proc.returncode == 0, proc.stderr
