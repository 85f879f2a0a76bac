"""The LLVM 19 pass vocabulary, pipeline syntax and legacy flag conversion."""

from __future__ import annotations

import random
import subprocess

import pytest

from conftest import FIXTURES
from llmcompiler.errors import PipelineError
from llmcompiler.passes import (
    LEVELS,
    Pass,
    Pipeline,
    from_legacy,
    load_vocabulary,
    parse_pipeline,
    random_pipeline,
    validate,
)

TINY = str(FIXTURES / "tiny.ll")


def _opt_accepts(pipeline: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["opt-19", f"-passes={pipeline}", TINY, "-disable-output"], capture_output=True, text=True
    )


def test_format_groups_by_level():
    pipeline = Pipeline(
        (
            Pass("mem2reg", "function"),
            Pass("licm", "loop-mssa"),
            Pass("loop-rotate", "loop"),
            Pass("loop-deletion", "loop"),
            Pass("globaldce", "module"),
            Pass("inline", "cgscc"),
            Pass("function-attrs", "cgscc"),
        )
    )
    assert pipeline.format() == (
        "function(mem2reg,loop-mssa(licm),loop(loop-rotate,loop-deletion)),globaldce,"
        "cgscc(inline,function-attrs)"
    )
    assert parse_pipeline(pipeline.format()) == pipeline
    assert Pipeline().format() == "" and len(parse_pipeline("")) == 0


def test_parse_nested_adaptors_and_params():
    text = (
        "module(ipsccp), cgscc(devirt<4>(inline,function<eager-inv;no-rerun>(sroa<modify-cfg>,"
        "loop-mssa(licm<allowspeculation>)))),repeat<2>(function(simplifycfg<keep-loops;"
        "switch-range-to-icmp>))"
    )
    p = parse_pipeline(text)
    assert [(x.name, x.level) for x in p] == [
        ("ipsccp", "module"),
        ("inline", "cgscc"),
        ("sroa<modify-cfg>", "function"),
        ("licm<allowspeculation>", "loop-mssa"),
        ("simplifycfg<keep-loops;switch-range-to-icmp>", "function"),
        ("simplifycfg<keep-loops;switch-range-to-icmp>", "function"),
    ]
    assert p.passes[1].base == "inline" and p.passes[2].base == "sroa"


def test_default_oz_pipeline_round_trips_through_opt():
    printed = subprocess.run(
        ["opt-19", "-passes=default<Oz>", "-print-pipeline-passes", TINY, "-disable-output"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    pipeline = parse_pipeline(printed)
    assert len(pipeline) > 100
    assert parse_pipeline(pipeline.format()) == pipeline
    proc = _opt_accepts(pipeline.format())
    assert proc.returncode == 0, proc.stderr


def test_syntax_errors_are_precise():
    with pytest.raises(PipelineError) as info:
        parse_pipeline("function(sroa")
    assert str(info.value) == "invalid pipeline 'function(sroa': missing ')' at offset 13"
    with pytest.raises(PipelineError, match="expected a pass name at offset 5"):
        parse_pipeline("sroa,,gvn")
    with pytest.raises(PipelineError, match="missing '>'"):
        parse_pipeline("sroa<modify-cfg")
    with pytest.raises(PipelineError, match="'sroa' is not an adaptor"):
        parse_pipeline("sroa(gvn)")
    with pytest.raises(PipelineError, match="repeat needs a count"):
        parse_pipeline("repeat(gvn)")


def test_vocabulary_validation():
    vocab = load_vocabulary()
    with pytest.raises(PipelineError) as info:
        parse_pipeline("function(sroa,foo)", vocab)
    assert str(info.value) == "unknown pass 'foo' (not in the LLVM 19 vocabulary)"
    with pytest.raises(PipelineError) as info:
        parse_pipeline("function(gvn-sink)", vocab)
    assert str(info.value).startswith("pass 'gvn-sink' is excluded: nondeterministic")
    with pytest.raises(PipelineError, match="'instcombine' is excluded: plain instcombine aborts"):
        validate("function(instcombine)", vocab)
    flat = parse_pipeline("mem2reg,licm,globaldce", vocab)  # bare names take the vocabulary's level
    assert [p.level for p in flat] == ["function", "loop-mssa", "module"]
    assert flat.format() == "function(mem2reg,loop-mssa(licm)),globaldce"
    with pytest.raises(PipelineError, match="runs at module level, not function"):
        validate(Pipeline((Pass("globaldce", "function"),)), vocab)


def test_vocabulary_contents():
    vocab = load_vocabulary()
    assert vocab.llvm_version == 19
    assert len(vocab.passes) >= 90 and len(vocab.oz_passes) >= 50
    assert all(p.level in LEVELS for p in vocab.passes)
    names = {p.name for p in vocab.passes}
    for excluded in (
        "gvn-sink",
        "unify-loop-exits",
        "structurizecfg",
        "codegenprepare",
        "loop-bound-split",
        "instcombine",
    ):
        assert excluded in vocab.excluded and excluded not in names
    assert all(vocab.excluded.values())


def test_every_vocabulary_pass_is_accepted_by_opt():
    vocab = load_vocabulary()
    whole = Pipeline(vocab.passes).format()
    proc = _opt_accepts(whole)
    assert proc.returncode == 0, proc.stderr


def test_random_pipelines_are_reproducible_and_valid():
    vocab = load_vocabulary()
    a = [random_pipeline(random.Random(3), vocab, 1, 50) for _ in range(3)]
    b = [random_pipeline(random.Random(3), vocab, 1, 50) for _ in range(3)]
    assert a == b
    lengths = [len(random_pipeline(random.Random(i), vocab, 1, 50)) for i in range(200)]
    assert min(lengths) >= 1 and max(lengths) <= 50
    for p in a:
        assert validate(p.format(), vocab) == p


def test_legacy_conversion():
    conversion = from_legacy("-mem2reg -licm -constprop -gvn-sink -nonsense -instcombine")
    assert conversion.pipeline.format() == (
        "function(mem2reg,loop-mssa(licm),gvn-sink,instcombine<no-verify-fixpoint>)"
    )
    assert conversion.unconverted == {
        "-constprop": "removed in LLVM 12; instsimplify and sccp cover it",
        "-nonsense": "unknown legacy pass",
    }
    assert conversion.flagged["-gvn-sink"].startswith("nondeterministic")


def test_every_legacy_target_is_accepted_by_opt():
    from llmcompiler.passes import _legacy_map

    passes = [Pass(e["pass"], e["level"]) for e in _legacy_map().values() if "pass" in e]
    assert len(passes) >= 100
    failures = []
    for p in passes:  # one at a time: some are instrumentation passes with odd needs
        proc = _opt_accepts(Pipeline((p,)).format())
        if "unknown" in proc.stderr or "invalid" in proc.stderr:
            failures.append((p.name, proc.stderr.strip()))
    assert failures == []
