"""The worker pool: exact numbers, crash isolation, timeouts, determinism, batching."""

from __future__ import annotations

import hashlib
import random
import time

from conftest import FIXTURES, PIPELINES
from llmcompiler.engine import NOT_STARTED, Deadline, Evaluator, Objective, Task
from llmcompiler.engine.result import CRASH, INVALID_PIPELINE, OK, TIMEOUT, VERIFY_FAILED
from llmcompiler.llvm import Module, TargetMachine, berkeley_size
from llmcompiler.llvm.toolchain import llc_object
from llmcompiler.program import Program, load_program

CRASHING = "function(codegenprepare)"


def test_results_equal_direct_binding(programs, evaluator):
    program = programs["globals.c"]
    results = evaluator.evaluate_many(program, PIPELINES, Objective(size_path="llc"))
    for pipeline, result in zip(PIPELINES, results):
        module = Module.parse(program.bitcode)
        if pipeline:
            with TargetMachine(module.triple) as tm:
                module.run_passes(pipeline, tm)
        assert result.status == OK
        assert result.instcount == module.instruction_count()
        assert result.size == berkeley_size(llc_object(module.to_bitcode())).binary_size


def test_segfault_becomes_failed_result_and_pool_recovers(programs):
    with Evaluator(jobs=1, timeout=30) as ev:
        crashed = ev.evaluate(programs["loops.c"], CRASHING)
        assert crashed.status == CRASH
        assert crashed.error.startswith("worker crashed (killed by SIGSEGV)")
        assert 'Running pass "codegenprepare"' in crashed.error
        after = ev.evaluate(programs["loops.c"], "default<Oz>")
        assert after.status == OK and after.size > 0
        # a crash is retried once in a fresh worker; only the second one is reported
        assert ev.stats.crashes == 2 and ev.stats.restarts == 2 and ev.stats.retries == 1


def test_llvm_fatal_error_becomes_failed_result():
    program = load_program(FIXTURES / "fatal_codegen.ll")
    with Evaluator(jobs=1, timeout=30) as ev:
        result = ev.evaluate(program, "")
        assert result.status == CRASH
        assert "LLVM ERROR" in result.error
        counted = ev.evaluate(program, "", Objective(metric="instcount"))
        assert counted.status == OK and counted.instcount == 2


def test_timeout_kills_and_restarts_worker(programs):
    slow = ",".join(["default<O3>"] * 200)
    with Evaluator(jobs=1, timeout=0.2) as ev:
        result = ev.evaluate(programs["float.c"], slow)
        assert result.status == TIMEOUT and result.error == "timed out after 0.2 s"
        assert ev.evaluate(programs["float.c"], "default<Oz>").status == OK
        assert ev.stats.timeouts == 1


def test_a_task_can_bring_its_own_timeout(programs):
    slow = ",".join(["default<O3>"] * 200)
    with Evaluator(jobs=1, timeout=60) as ev:
        tasks = [Task(programs["float.c"], slow, timeout=0.3), Task(programs["float.c"], "")]
        (_, first), (_, second) = sorted(ev.run(tasks), key=lambda x: x[0])
        assert first.status == TIMEOUT and first.error == "timed out after 0.3 s"
        assert second.status == OK and ev.stats.timeouts == 1


def test_a_deadline_stops_a_task_and_a_passed_one_starts_none(programs):
    """A task ends by its Deadline whatever its timeout; a task whose deadline passed
    before a worker took it is not run; a deadline moved during the run is obeyed."""
    slow = ",".join(["default<O3>"] * 200)
    program = programs["float.c"]
    with Evaluator(jobs=1, timeout=60) as ev:
        gone = Deadline(time.monotonic() - 1)
        ((_, late),) = ev.run([Task(program, "default<Oz>", deadline=gone)])
        assert (late.status, late.error, ev.stats.evaluations) == (TIMEOUT, NOT_STARTED, 0)
        start = time.monotonic()
        ((_, cut),) = ev.run([Task(program, slow, deadline=Deadline(start + 0.3))])
        assert cut.status == TIMEOUT and cut.error.startswith("stopped at its deadline after 0.")
        assert time.monotonic() - start < 5 and ev.stats.timeouts == 1
    with Evaluator(jobs=2, timeout=60) as ev:
        later = Deadline(time.monotonic() + 60)
        tasks = [Task(program, slow, deadline=later), Task(program, "default<Oz>")]
        results = ev.run(tasks)
        start = time.monotonic()
        assert next(results)[0] == 1  # -Oz first; then the slow task's deadline is now
        later.at = time.monotonic()
        ((index, moved),) = list(results)
        assert index == 0 and moved.status == TIMEOUT and time.monotonic() - start < 5


def test_invalid_pipelines_come_back_with_llvm_message(programs, evaluator):
    bad = evaluator.evaluate_many(programs["loops.c"], ["foo-bar", "function(", "loop(licm"])
    assert [r.status for r in bad] == [INVALID_PIPELINE] * 3
    assert bad[0].error == "unknown pass name 'foo-bar'"
    assert bad[1].error == "invalid pipeline 'function('"


def test_output_failing_verification_is_rejected(evaluator):
    text = (FIXTURES / "invalid.ll").read_bytes()  # parses, does not verify
    unverified = Program("invalid.ll", text, hashlib.sha256(text).hexdigest(), has_main=False)
    result = evaluator.evaluate(unverified, "function(instsimplify)")
    assert result.status in (VERIFY_FAILED, CRASH)
    result = evaluator.evaluate(unverified, "")
    assert result.status == VERIFY_FAILED
    assert result.error.startswith("IR verification failed: ")


def test_deterministic_across_workers_and_orders(programs):
    from llmcompiler.pipeline import load_vocabulary, random_pipeline

    rng = random.Random(7)
    vocab = load_vocabulary()
    pipelines = [random_pipeline(rng, vocab, 1, 12).format() for _ in range(24)]
    program = programs["switch.c"]
    with Evaluator(jobs=1) as one:
        first = [(r.status, r.instcount, r.size) for r in one.evaluate_many(program, pipelines)]
    with Evaluator(jobs=2) as two:
        shuffled = list(range(len(pipelines)))
        random.Random(1).shuffle(shuffled)
        again = two.evaluate_many(program, [pipelines[i] for i in shuffled])
    for position, i in enumerate(shuffled):
        assert (again[position].status, again[position].instcount, again[position].size) == first[
            i
        ], pipelines[i]


def test_batch_dedupes_and_keeps_order(programs):
    with Evaluator(jobs=2) as ev:
        results = ev.evaluate_many(programs["loops.c"], ["default<Oz>", "", "default<Oz>"])
        assert results[0] == results[2] and results[1].instcount > results[0].instcount
        assert ev.stats.evaluations == 2


def test_many_programs_in_one_run(programs, evaluator):
    tasks = [Task(p, "default<Oz>") for p in programs.values()]
    done = dict(evaluator.run(tasks))
    assert sorted(done) == list(range(len(tasks)))
    assert all(r.status == OK for r in done.values())


def test_evicted_module_is_resent(tmp_path):
    base = (FIXTURES / "tiny.ll").read_text()
    many = []
    for i in range(40):  # more distinct modules than a worker keeps parsed
        path = tmp_path / f"m{i}.ll"
        path.write_text(base + f"\n@marker{i} = global i32 {i}\n")
        many.append(load_program(path))
    with Evaluator(jobs=1) as ev:
        first = [ev.evaluate(p, "default<Oz>") for p in many]
        again = ev.evaluate(many[0], "default<O2>")
    assert all(r.status == OK for r in first) and again.status == OK


def test_worker_over_memory_limit_is_replaced(programs):
    with Evaluator(jobs=1, max_rss_mb=1) as ev:
        results = ev.evaluate_many(programs["loops.c"], PIPELINES)
        assert all(r.status == OK for r in results)
        assert ev.stats.restarts == len(PIPELINES)


def test_outputs(programs, evaluator):
    program = programs["loops.c"]
    ir = evaluator.evaluate(program, "default<Oz>", output="ir")
    assert ir.output.decode().lstrip().startswith("; ModuleID")
    obj = evaluator.evaluate(program, "default<Oz>", Objective(size_path="llc"), output="object")
    assert obj.output[:4] == b"\x7fELF"
    assert berkeley_size(obj.output).binary_size == obj.size
    asm = evaluator.evaluate(program, "default<Oz>", output="asm")
    assert b"main:" in asm.output


def test_a_worker_serves_one_target(programs):
    """Building the WebAssembly back end sets LLVM's process-wide minimum number of
    jump table entries to 2, after which the same process lowered switch.c's x86-64
    switch with a jump table (1917 -> 2015 bytes). Each worker serves one target."""
    x86 = programs["switch.c"]
    wasm = load_program(FIXTURES / "switch.c", flags=["--target=wasm32-wasi"])
    with Evaluator(jobs=1) as fresh:
        expected = fresh.evaluate(x86, "default<Oz>").size
    with Evaluator(jobs=1) as ev:
        first = ev.evaluate(x86, "default<Oz>")
        other = ev.evaluate(wasm, "default<Oz>")
        again = ev.evaluate(x86, "default<O2>,default<Oz>")  # not a cached result
        assert ev.stats.retargets == 2
    assert first.size == expected and other.status == OK
    with Evaluator(jobs=1) as fresh:
        assert again.size == fresh.evaluate(x86, "default<O2>,default<Oz>").size


def test_a_run_mixing_targets_measures_each_as_a_fresh_worker_would(programs):
    x86 = programs["switch.c"]
    wasm = load_program(FIXTURES / "switch.c", flags=["--target=wasm32-wasi"])
    tasks = [Task(p, pipe) for pipe in PIPELINES for p in (x86, wasm)]
    with Evaluator(jobs=2) as ev:
        mixed = dict(ev.run(tasks))
        assert ev.stats.retargets <= 2  # each worker keeps to one target while it can
    for program in (x86, wasm):
        with Evaluator(jobs=1) as alone:
            for index, task in enumerate(tasks):
                if task.program is program:
                    assert mixed[index].size == alone.evaluate(program, task.pipeline).size


def test_a_module_compiled_before_is_not_compiled_again(programs):
    """Two pipelines that give the same module give the same size; the second takes the
    size the pool remembered for that module's bitcode, whichever worker measured it."""
    program = programs["switch.c"]
    with Evaluator(jobs=2) as ev:
        first = ev.evaluate(program, "default<Oz>")
        same = ev.evaluate(program, "default<Oz>,verify")
        assert ev.stats.known_sizes == 1
        other = ev.evaluate(program, "")  # another module: compiled
        exact = ev.evaluate(program, "default<Oz>,verify", Objective(size_path="llc"))
        count = ev.evaluate(program, "default<Oz>,verify", Objective("instcount"))
        assert ev.stats.known_sizes == 1  # another objective: measured its own way
    assert first.optimized == same.optimized != other.optimized
    assert exact.optimized != first.optimized and count.optimized is None
    with Evaluator(jobs=1) as fresh:
        assert same.size == first.size == fresh.evaluate(program, "default<Oz>,verify").size
        assert other.size == fresh.evaluate(program, "").size != first.size
    assert exact.size == first.size
