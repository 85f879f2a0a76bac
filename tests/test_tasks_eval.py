"""Metrics, the disassembly and emulation tasks, and ``llmc eval``/``disasm``/``emulate``,
with the real LLVM tools and a scripted text model whose answers each test chooses."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, count_ir_text
from llmcompiler import prompts
from llmcompiler.cli import main
from llmcompiler.datasets.disassembly import disassembly_records
from llmcompiler.datasets.emulation import EmulationConfig, emulation_records
from llmcompiler.engine import Evaluator
from llmcompiler.errors import PipelineError
from llmcompiler.harness import metrics as summaries
from llmcompiler.llvm import berkeley_size
from llmcompiler.llvm.toolchain import llc_assembly, llc_object, opt
from llmcompiler.model import loading
from llmcompiler.model.base import candidate_from_pipeline
from llmcompiler.program import load_program
from llmcompiler.search.coreset import coreset_for, load_coreset
from llmcompiler.search.run import Budget
from llmcompiler.search.tuner import EXACT, TuneConfig, optimize
from llmcompiler.tasks import disassembly, emulation, metrics

PIPELINE = "function(sroa,instcombine<no-verify-fixpoint>,simplifycfg),globaldce"
HUGE = "<code>" + "x" * 5_000_000 + "</code>"
NOT_IR = "<code>define i32 @f() {\n  ret i32 %nope\n}</code>"
# parses, but %x does not dominate its use: only the verifier rejects it
UNVERIFIED = (
    "<code>define i32 @f(i1 %c) {\nentry:\n  br i1 %c, label %a, label %b\na:\n"
    "  %x = add i32 1, 2\n  br label %b\nb:\n  ret i32 %x\n}</code>"
)
# valid IR, but nested 60,000 deep: LLVM's recursive parser overflows its 8 MiB stack
# (SIGSEGV in llvm-as-19; libLLVM in this process would take pytest down with it)
DEEP = "<code>@g = global " + "{" * 60_000 + "i8" + "}" * 60_000 + " zeroinitializer\n</code>"
CRASHED = "llvm-as-19 crashed (signal 11, SIGSEGV)"
BUILTIN_MESSAGE = (
    "llmc: error: the built-in model proposes pass lists only; emulation and disassembly "
    "need a text model: give --model PATH to a Hugging Face checkpoint (one made by llmc "
    "train, or Meta's llm-compiler-7b-ftd)\n"
)


class ScriptedModel:
    """A TextModel double: ``answers`` maps a prompt (or a substring of it) to answers."""

    def __init__(self, answers: dict[str, list[str]], max_context: int = 1 << 20) -> None:
        self.name = "scripted"
        self.max_context = max_context
        self.answers = answers
        self.prompts: list[str] = []
        self.configs = []
        self.closed = False

    def generate(self, prompts, config):
        self.prompts += prompts
        self.configs.append(config)
        out = []
        for prompt in prompts:
            found = [a for key, a in self.answers.items() if key in prompt]
            out.append(list(found[0] if found else ["I cannot help with that."])[: config.k])
        return out

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def loops():
    """loops.c at -Oz as opt-19 prints it (ModuleID named by file) and llc-19's assembly."""
    program = load_program(FIXTURES / "loops.c")
    ir = opt(program.bitcode, "default<Oz>").decode().replace("'<stdin>'", "'loops.c'", 1)
    return program, ir, llc_assembly(ir.encode())


# -- metrics --------------------------------------------------------------------------


def test_bleu_known_values():
    asm = "\tmovl\t%edi, %eax\n\taddl\t$1, %eax\n\tretq\n"
    assert metrics.tokenize("movl %edi, %eax") == ["movl", "%", "edi", ",", "%", "eax"]
    assert metrics.sentence_bleu(asm, asm) == 1.0
    assert metrics.corpus_bleu([(asm, asm), ("a b c d", "a b c d")]) == 1.0
    assert metrics.sentence_bleu("foo bar baz qux", "one two three four") == 0.0
    assert metrics.corpus_bleu([("foo bar baz qux", "one two three four")]) == 0.0
    # hand-computed: 1..4-gram precisions 4/5, 3/4, 2/3, 1/2, no brevity penalty
    hyp, ref = "a b c d e", "a b c d f"
    assert metrics.corpus_bleu([(hyp, ref)]) == pytest.approx(
        (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25
    )
    # smoothed (+1 for n > 1): 4/5, 4/5, 3/4, 2/3
    assert metrics.sentence_bleu(hyp, ref) == pytest.approx((4 / 5 * 4 / 5 * 3 / 4 * 2 / 3) ** 0.25)
    # every n-gram matches, 4 of 6 tokens: brevity penalty exp(1 - 6/4)
    assert metrics.sentence_bleu("a b c d", "a b c d e f", smooth=False) == pytest.approx(
        math.exp(-0.5)
    )
    assert metrics.corpus_bleu([]) == 0.0


def test_exact_match_normalization():
    ir = (
        "; ModuleID = 'a.c'\nsource_filename = \"a.c\"\n\n; Function Attrs: nounwind\n"
        "define i32 @f(i32 %0) {\n  br label %2\n\n2:                                ; preds = %1\n"
        '  ret i32 %0   \n}\n@s = constant [4 x i8] c"a;b\\00"\n'
    )
    other = (
        "; ModuleID = 'b.c'\nsource_filename = \"b.c\"\ndefine i32 @f(i32 %0) {\n"
        '  br label %2\n2:\n  ret i32 %0\n}\n@s = constant [4 x i8] c"a;b\\00"\n\n'
    )
    assert metrics.exact_match(ir, other, "ir")
    assert not metrics.exact_match(ir, other.replace("ret i32 %0", "ret i32 0"), "ir")
    assert not metrics.exact_match(ir, other, "text")
    asm = '\t.text\n\t.file\t"a.c"\nf:\n\tretq\n\t.ident\t"clang"\n'
    assert metrics.exact_match(asm, '\t.text\n\t.file\t"b.c"\nf:\n\tretq   \n', "asm")
    assert not metrics.exact_match(asm, "\t.text\nf:\n\tretq\t# x\n", "asm")
    with pytest.raises(ValueError):
        metrics.normalize("", "python")


def test_mape_and_tuning_summary():
    assert metrics.mape([(110, 100), (90, 100), (None, 5), (3, 0)]) == pytest.approx(10.0)
    assert metrics.mape([]) is None
    assert metrics.percent_error(90, 100) == pytest.approx(-10.0)
    outcomes = [
        summaries.TuningOutcome(100, 90, 10, 1.0),
        summaries.TuningOutcome(100, 100, 20, 2.0),
        summaries.TuningOutcome(200, 220, 30, 6.0),
        summaries.TuningOutcome(0, 0, 1, 0.1),  # data only: left out
    ]
    s = summaries.tuning_summary(outcomes)
    assert (s.programs, s.skipped) == (3, 1)
    assert s.mean_pct == pytest.approx(0.0)
    ratio = (100 / 90 * 1 * 200 / 220) ** (1 / 3)
    assert s.geomean_pct == pytest.approx((ratio - 1) * 100)
    assert (s.improved_pct, s.equal_pct, s.worse_pct) == pytest.approx((100 / 3,) * 3)
    assert (s.evaluations, s.seconds, s.max_seconds) == (20, 3.0, 6.0)
    assert summaries.tuning_summary([]).mean_pct is None


# -- disassembly ----------------------------------------------------------------------


def test_disassembly_round_trip_and_failures(loops):
    _, ir, asm = loops
    lifted_o0 = opt(loops[0].bitcode, "function(sroa)").decode()  # valid, different code
    truncated = "<code>" + ir[: len(ir) // 2]
    fatal = (FIXTURES / "fatal_codegen.ll").read_text()
    answers = [
        "I think it is a loop.",
        prompts.disassembly_answer(lifted_o0),
        prompts.disassembly_answer(ir),
        NOT_IR,
        UNVERIFIED,
        HUGE,
        truncated,
        prompts.disassembly_answer(fatal),
    ]
    model = ScriptedModel({"Disassemble this code": answers})
    result = disassembly.disassemble(model, asm, k=len(answers))
    assert model.prompts == [prompts.disassembly_prompt(asm)]
    assert model.configs[0].k == len(answers) and not model.configs[0].sample
    c = result.candidates
    assert [x.round_trip for x in c] == [False, True, True, False, False, False, False, False]
    assert c[0].error == "no <code> block in the answer"
    assert 0.2 < c[1].bleu < 1.0 and not c[1].exact_match
    assert c[2].exact_match and c[2].bleu == 1.0 and c[2].assembly == asm and c[2].error is None
    assert c[3].error.startswith("IR does not parse: answer:")
    assert c[4].error.startswith("IR does not verify:") and "dominate" in c[4].error
    assert c[5].error == "the answer is 5000013 characters, over the 200000 limit"
    assert c[6].truncated and "cut off before </code>" in c[6].error
    assert c[7].error.startswith("llc-19 crashed (signal 6, SIGABRT): LLVM ERROR: Do not know")
    assert all(x.bleu == 0.0 and not x.exact_match for x in c if not x.round_trip)
    assert result.best == 2 and result.best_candidate.ir == ir
    assert disassembly.score_answers(asm, ["no", NOT_IR]).best is None


def test_compile_ir_limits(loops, monkeypatch):
    _, ir, asm = loops
    assert disassembly.compile_ir("   ").error == "the code block is empty"
    monkeypatch.setattr(disassembly, "MIN_OUTPUT_CHARS", 1000)
    huge = disassembly.check_answer(prompts.disassembly_answer(ir), "f:\n\tretq\n")
    assert not huge.round_trip
    assert huge.error == f"the round-tripped assembly is {len(asm)} characters, over the 1000 limit"
    with pytest.raises(ValueError):
        disassembly.compile_ir("", "exe")


def test_ir_that_crashes_or_hangs_the_tools_fails_alone(loops):
    _, ir, asm = loops
    crashed = disassembly.check_answer(DEEP, asm)
    assert not crashed.round_trip and crashed.error == CRASHED
    slow = disassembly.check_answer(prompts.disassembly_answer(ir), asm, timeout=1e-4)
    assert slow.error == "llvm-as-19 timed out after 0.0001 s"
    assert disassembly.check_answer(prompts.disassembly_answer(ir), asm).exact_match
    out = emulation.CompilerOutput(ir, 0, 0)
    broken = emulation.score_answer(DEEP, out)
    assert broken.compiles is False and broken.compile_error == CRASHED


# -- emulation -------------------------------------------------------------------------


def test_emulation_reference_is_the_real_tools(loops):
    program = loops[0]
    ref = emulation.reference(program, PIPELINE)
    real = opt(ref.input.code.encode(), PIPELINE).decode()
    assert ref.output.code == real.replace("'<stdin>'", "'loops.c'", 1)
    assert ref.input.code.startswith("; ModuleID = 'loops.c'")
    assert ref.output.instcount == count_ir_text(real)
    assert ref.output.size == berkeley_size(llc_object(real.encode())).binary_size
    assert ref.input.size == berkeley_size(llc_object(program.bitcode)).binary_size
    assert ref.prompt() == prompts.emulation_prompt(
        "ir", PIPELINE, ref.input.code, ref.input.instcount, ref.input.size
    )
    with pytest.raises(PipelineError, match="no-such-pass"):
        emulation.reference(program, "function(no-such-pass)")
    with pytest.raises(PipelineError, match="empty"):
        emulation.reference(program, " ")


def test_emulation_scores(loops):
    ref = emulation.reference((FIXTURES / "tiny.ll").read_text(), "default<Oz>", "tiny.ll")
    out = ref.output
    right = prompts.emulation_answer("ir", out.instcount, out.size, out.code)
    wrong_size = prompts.emulation_answer("ir", out.instcount + 2, out.size + 10, out.code)
    model = ScriptedModel({"opt -p 'default<Oz>'": [right]})
    tiny = (FIXTURES / "tiny.ll").read_text()
    ref2, good = emulation.emulate(model, tiny, "default<Oz>", name="tiny.ll")
    assert ref2.output == out and model.prompts == [ref.prompt()]
    assert good.exact_match and good.bleu == 1.0 and good.compiles
    assert good.compiled_size == out.size and (good.size_error, good.size_error_pct) == (0, 0.0)
    off = emulation.score_answer(wrong_size, out)
    assert off.size_error == 10 and off.size_error_pct == pytest.approx(10 / out.size * 100)
    assert off.instcount_error == 2 and off.exact_match
    garbage = emulation.score_answer("The code gets smaller.", out)
    assert garbage.error == "no <code> block in the answer" and garbage.compiles is None
    assert garbage.bleu == 0.0 and not garbage.exact_match
    broken = emulation.score_answer(NOT_IR, out)
    assert broken.compiles is False and broken.compile_error.startswith("IR does not parse")
    assert "limit" in emulation.score_answer(HUGE, out).error


# -- the commands ----------------------------------------------------------------------


def test_disasm_builtin_model_is_refused(tmp_path, capsys):
    source = tmp_path / "x.s"
    source.write_text("\t.text\nf:\n\tretq\n")
    assert main(["disasm", str(source)]) == 1
    assert capsys.readouterr().err == BUILTIN_MESSAGE


def test_disasm_and_emulate_commands(loops, tmp_path, capsys, monkeypatch):
    _, ir, asm = loops
    model = ScriptedModel(
        {
            "Disassemble": [DEEP, NOT_IR, prompts.disassembly_answer(ir)],
            "opt -p": ["The LLVM-IR will have instruction count 3 and binary sise 7 bytes:"],
        }
    )
    monkeypatch.setattr(loading, "load_text_model", lambda spec, device=None: model)
    source = tmp_path / "loops.s"
    source.write_text(asm)
    out = tmp_path / "lifted.ll"
    assert main(["disasm", str(source), "--model", "m", "-k", "3", "-o", str(out)]) == 0
    table = capsys.readouterr().out
    assert CRASHED in table and "IR does not parse" in table
    assert "best: candidate 2 (BLEU 1.0000" in table
    assert out.read_text() == ir and model.closed
    model.answers["Disassemble"] = ["no idea"]
    assert main(["disasm", str(source), "--model", "m", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["candidates"][0]["error"] == "no <code> block in the answer"
    assert captured.err == "llmc: error: no candidate compiled back to assembly\n"
    c_file = str(FIXTURES / "loops.c")
    assert main(["emulate", c_file, "-p", PIPELINE, "--model", "m"]) == 0
    text = capsys.readouterr().out
    assert "answer: no <code> block in the answer" in text and "instructions" in text
    assert main(["emulate", c_file, "-p", "bogus-pass", "--model", "m"]) == 1
    assert capsys.readouterr().err.startswith("llmc: error: ")


def _bench(tmp_path: Path) -> Path:
    bench = tmp_path / "bench"
    bench.mkdir()
    for name in ("loops.c", "switch.c"):
        shutil.copy(FIXTURES / name, bench / name)
    return bench


def test_eval_flag_tuning_matches_optimize(tmp_path, capsys):
    bench, out = _bench(tmp_path), tmp_path / "report"
    argv = ["eval", "flag-tuning", "--bench", str(bench), "--method", "local"]
    assert main([*argv, "--evaluations", "10", "--jobs", "1", "--report", str(out)]) == 0
    assert "with -Oz fallback: mean" in capsys.readouterr().out
    data = json.loads((out / "results.json").read_text())
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "FTD-13B 4.88 %" in html
    config = TuneConfig(budget=Budget(None, 10), coreset=load_coreset().pipelines)
    with Evaluator(jobs=1) as ev:
        expected = [optimize(ev, load_program(bench / n), config) for n in ("loops.c", "switch.c")]
    for row, r in zip(data["rows"], expected):
        assert row["program"].endswith(Path(r.file).name)
        assert (row["oz_size"], row["size"], row["pipeline"]) == (
            r.oz.size,
            r.best.size,
            r.pipeline,
        )
        assert (row["improvement_pct"], row["evaluations"]) == (r.improvement_pct, r.evaluations)
    mean = sum(r.improvement_pct for r in expected) / 2
    assert data["summary"]["with_fallback"]["mean_pct"] == pytest.approx(mean)
    assert data["summary"]["without_fallback"] is None


def test_eval_flag_tuning_for_another_target(tmp_path, capsys):
    bench, out = _bench(tmp_path), tmp_path / "report"
    argv = ["eval", "flag-tuning", "--bench", str(bench), "--method", "local"]
    argv += ["--target", "riscv64-linux-gnu", "--evaluations", "10", "--jobs", "1"]
    assert main([*argv, "--report", str(out)]) == 0
    capsys.readouterr()
    data = json.loads((out / "results.json").read_text())
    flags = ["--target=riscv64-linux-gnu"]
    config = TuneConfig(budget=Budget(None, 10), coreset=coreset_for("riscv64").pipelines)
    with Evaluator(jobs=1) as ev:
        for row, name in zip(data["rows"], ("loops.c", "switch.c")):
            program = load_program(bench / name, flags=flags)
            assert row["triple"] == program.triple == "riscv64-unknown-linux-gnu"
            assert row["oz_size"] == optimize(ev, program, config).oz.size


def test_eval_flag_tuning_model_without_fallback(tmp_path, monkeypatch, evaluator):
    class Lists:
        name = "lists"

        def propose(self, program, k):
            texts = ["default<O3>", "function(not-a-pass)", "function(sroa)"]
            return [candidate_from_pipeline(t) for t in texts][:k]

        def close(self):
            pass

    monkeypatch.setattr(loading, "load_pass_list_model", lambda spec, device=None: Lists())
    out = tmp_path / "r"
    argv = ["eval", "flag-tuning", "--bench", str(_bench(tmp_path)), "--report", str(out)]
    assert main([*argv, "--model", "x", "--jobs", "1"]) == 0
    data = json.loads((out / "results.json").read_text())
    for row in data["rows"]:
        assert (row["proposals"], row["valid_proposals"]) == (3, 2)
        program = load_program(row["program"])
        sizes = [
            evaluator.evaluate(program, p, EXACT).size for p in ("default<O3>", "function(sroa)")
        ]
        assert row["no_fallback_size"] == min(sizes)
        assert row["size"] == min(row["oz_size"], *sizes)
    summary = data["summary"]
    assert summary["without_fallback"]["mean_pct"] <= summary["with_fallback"]["mean_pct"]


def _dataset(tmp_path: Path, task: str, evaluator) -> tuple[Path, list[dict]]:
    root = tmp_path / task
    root.mkdir()
    records = []
    for name in ("loops.c", "switch.c"):
        program = load_program(FIXTURES / name)
        if task == "emulation":
            config = EmulationConfig(variants=("ir",), lists=(PIPELINE,))
            made = emulation_records(evaluator, program, 0, config)[0]
        else:
            made = disassembly_records(evaluator, program)
        records += [{"task": task, "program": name, "hash": program.hash, **r} for r in made]
    (root / "manifest.json").write_text(json.dumps({"task": task}))
    (root / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root, records


@pytest.mark.parametrize("task", ["emulation", "disassembly"])
def test_eval_text_tasks(task, tmp_path, monkeypatch, evaluator, capsys):
    root, records = _dataset(tmp_path, task, evaluator)
    first, second = records
    key = "input_ir" if task == "emulation" else "asm"
    model = ScriptedModel({first[key]: [first["completion"]], second[key]: [NOT_IR]})
    monkeypatch.setattr(loading, "load_text_model", lambda spec, device=None: model)
    out = tmp_path / "report"
    assert main(["eval", task, "--data", str(root), "--model", "m", "--report", str(out)]) == 0
    data = json.loads((out / "results.json").read_text())
    s = data["summary"]
    assert s["items"] == 2 and s["errors"] == 0 and s["exact_match_pct"] == 50.0
    if task == "emulation":
        row = data["rows"][0]
        assert row["predicted"] == row["real"] and row["compiles"] and row["bleu"] == 1.0
        assert s["size_mape"] == 0.0 and s["compiles_pct"] == 50.0
        assert data["rows"][1]["compile_error"].startswith("IR does not parse")
    else:
        assert s["round_trip_pct"] == 50.0 and s["bleu_round_trip_mean"] == 1.0
        assert data["rows"][0]["ir_exact_match"] and "does not parse" in data["rows"][1]["reason"]
    assert data["paper"][0]["ours"] == 50.0  # emulation: exact match; disassembly: round trip
    saved = {"text": first["completion"], "truncated": False, "chars": len(first["completion"])}
    assert data["rows"][0]["answers"] == [saved] and data["config"]["answers"]
    assert "<img" in (out / "report.html").read_text()
    model.max_context = 10  # every prompt is too long: rows say so, the exit code is 1
    capsys.readouterr()
    assert main(["eval", task, "--data", str(root), "--model", "m", "--report", str(out)]) == 1
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert all(r["error"].startswith("the prompt is") for r in rows)
    assert "2 of 2 items could not be evaluated" in capsys.readouterr().err
    assert main(["eval", task, "--bench", str(root), "--report", str(out)]) == 1
    assert main(["eval", task, "--data", str(root), "--method", "local", "--report", "x"]) == 1
    assert "--method is for flag tuning" in capsys.readouterr().err


def test_eval_goes_on_past_crashes_and_keeps_answers(tmp_path, monkeypatch, evaluator, capsys):
    root, (first, second) = _dataset(tmp_path, "disassembly", evaluator)
    model = ScriptedModel(
        {first["asm"]: [DEEP, "y" * 25_000], second["asm"]: [second["completion"]]}
    )
    monkeypatch.setattr(loading, "load_text_model", lambda spec, device=None: model)
    out = tmp_path / "report"
    argv = ["eval", "disassembly", "--data", str(root), "--model", "m", "--report", str(out)]
    assert main([*argv, "--candidates", "2"]) == 0
    data = json.loads((out / "results.json").read_text())
    crashed, scored = data["rows"]
    assert not crashed["round_trip"] and crashed["reason"] == CRASHED
    assert scored["round_trip"] and scored["exact_match"]
    assert crashed["answers"] == [
        {"text": DEEP[:20_000], "truncated": True, "chars": len(DEEP)},
        {"text": "y" * 20_000, "truncated": True, "chars": 25_000},
    ]
    whole = second["completion"]
    assert len(whole) > 20_000  # switch.c's IR: the answer scored whole, saved cut
    assert scored["answers"] == [{"text": whole[:20_000], "truncated": True, "chars": len(whole)}]
    # --timeout bounds each tool run on an answer; --no-answers leaves the answers out
    assert main([*argv, "--timeout", "0.0001", "--no-answers"]) == 0
    data = json.loads((out / "results.json").read_text())
    assert [r["reason"] for r in data["rows"]] == ["llvm-as-19 timed out after 0.0001 s"] * 2
    assert all("answers" not in r for r in data["rows"]) and data["config"]["answers"] is False
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:  # a usage error, before any work
        main([*argv, "--timeout", "0"])
    assert exit.value.code == 2
    assert "argument --timeout: must be a positive number, not '0'" in capsys.readouterr().err


def test_report_without_matplotlib(monkeypatch, tmp_path):
    from llmcompiler.harness.config import EvalRun
    from llmcompiler.harness.report import write_report

    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    run = EvalRun("emulation", {"task": "emulation"}, "m", ({"id": "a", "error": "x"},), {})
    results, report = write_report(run, tmp_path / "out")
    assert "matplotlib is not installed" in report.read_text()
    assert json.loads(results.read_text())["paper"][0]["ours"] is None
