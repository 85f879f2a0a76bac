"""Disassembly: a text model lifts x86-64 assembly to LLVM IR; the compiler checks it.

Each of the model's k answers is read (the IR in its ``<code>`` block), parsed and
verified by llvm-as-19, and compiled back with llc-19 at the settings the disassembly
dataset uses (:mod:`llmcompiler.datasets.disassembly`: llc-19's defaults, O2 code
generation, AT&T syntax, no extra flags). The round-tripped assembly is compared with
the input assembly: BLEU and exact match, both after
:func:`llmcompiler.harness.metrics.normalize` (``.file``/``.ident`` and blank lines
dropped). The best candidate is the round-tripped one with the highest BLEU (the
model's earlier answer on a tie).

A model's IR is untrusted: text that crashes LLVM's parser is easy to write (a type
nested 30,000 deep overflows the stack). So it never reaches libLLVM in this process;
every check runs in a tool subprocess with a timeout, a memory cap and a fixed stack
(:func:`run_tool`). A bad answer (no code, IR that does not parse or verify, a tool
failing, crashing or timing out, an answer or output over the size limits) gives a
failed candidate with the reason; nothing here raises because of what a model wrote.
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, replace

from llmcompiler.errors import EvaluationError
from llmcompiler.llvm import LLVM_MAJOR, berkeley_size
from llmcompiler.llvm.toolchain import llc_args, tool
from llmcompiler.model.base import MAX_ANSWER_CHARS, GenerationConfig, TextModel
from llmcompiler.prompts import disassembly_prompt, parse_answer
from llmcompiler.tasks.metrics import exact_match, normalize, sentence_bleu

#: Seconds each tool (llvm-as-19, llc-19) may take on one answer.
LLC_TIMEOUT = 60.0
#: Address space a tool may use on one answer; IR can ask for more than the machine has.
TOOL_MEMORY = 4 << 30
#: Stack a tool gets (the usual 8 MiB, also where ``ulimit -s`` is unlimited), so deep
#: nesting ends in a crash we report rather than in a machine out of memory.
TOOL_STACK = 8 << 20
#: The longest round-tripped assembly kept: this many times the input's length (at
#: least MIN_OUTPUT_CHARS). IR can ask for megabytes of code (a huge array initializer);
#: the comparison would be meaningless and slow.
OUTPUT_FACTOR = 20
MIN_OUTPUT_CHARS = 1_000_000
#: Longest reason kept (llc can print a stack dump).
REASON_CHARS = 400
_VERIFY_FAILED = "assembly parsed, but does not verify as correct!"
# The limits are set by a shell that then becomes the tool: a stack limit only holds if
# set before exec, and preexec_fn is unsafe in a process with threads (a model back
# end's). Limits the hard limit does not allow are left as they are.
_LIMITED = (
    f"ulimit -S -s {TOOL_STACK >> 10} 2>/dev/null; "
    f"ulimit -S -v {TOOL_MEMORY >> 10} 2>/dev/null; "
    'exec "$@"'
)


@dataclass(frozen=True)
class Compiled:
    """IR compiled by llc-19, or why it was not.

    Attributes:
        ok: it parsed, verified and compiled.
        assembly: llc-19's AT&T assembly (``filetype="asm"``).
        size: binary size of llc-19's object, text + data (``filetype="obj"``).
        error: why not (None when ok).
    """

    ok: bool
    assembly: str | None = None
    size: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class ToolRun:
    """One run of an LLVM tool on untrusted input.

    Attributes:
        ok: it exited with status 0.
        stdout: what it printed (empty unless ok).
        error: why not: "NAME-19 timed out after T s", "NAME-19 crashed (signal N,
            SIGNAME): first message", or the tool's stderr without its "NAME-19: "
            prefixes (exit status above 0).
        crashed: it was killed by a signal or timed out (``error`` is then complete;
            otherwise it is the tool's own message).
    """

    ok: bool
    stdout: bytes = b""
    error: str | None = None
    crashed: bool = False


def run_tool(name: str, args: list[str], data: bytes, timeout: float) -> ToolRun:
    """Run LLVM 19's ``name`` (e.g. "llc") with ``args`` on ``data`` (its stdin).

    The tool gets at most ``timeout`` seconds, TOOL_MEMORY of address space and a
    TOOL_STACK stack; a crash, a kill or a timeout comes back as a failed ToolRun.

    Raises:
        LLVMNotFoundError: the tool is not installed.
    """
    label, path = f"{name}-{LLVM_MAJOR}", tool(name)
    proc = subprocess.Popen(
        ["/bin/sh", "-c", _LIMITED, "sh", path, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        stdout, stderr = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return ToolRun(False, error=f"{label} timed out after {timeout:g} s", crashed=True)
    message = stderr.decode("utf-8", "replace").replace(f"{path}: ", "")  # "llc-19: error"
    if proc.returncode < 0:
        number = -proc.returncode
        try:
            what = f"signal {number}, {signal.Signals(number).name}"
        except ValueError:
            what = f"signal {number}"
        first = message.split("PLEASE submit a bug report")[0].split("Stack dump:")[0].strip()
        detail = f": {first}" if first else ""
        return ToolRun(False, error=_short(f"{label} crashed ({what}){detail}"), crashed=True)
    if proc.returncode != 0:
        return ToolRun(False, error=message.strip() or f"exit status {proc.returncode}")
    return ToolRun(True, stdout=stdout)


def compile_ir(ir: str, filetype: str = "asm", timeout: float = LLC_TIMEOUT) -> Compiled:
    """Parse and verify ``ir`` with llvm-as-19, then compile it with llc-19.

    Both run as subprocesses (:func:`run_tool`), each with ``timeout`` seconds.
    ``filetype`` "asm" fills ``assembly``; "obj" fills ``size``. Never raises for bad
    IR: the result says why it failed ("IR does not parse: ...", "IR does not verify:
    ...", "llc-19 failed: ...", "llvm-as-19 crashed (signal 11, SIGSEGV)", "llc-19
    timed out after 60 s", ...).

    Raises:
        LLVMNotFoundError: llvm-as-19 or llc-19 is not installed.
        ValueError: unknown ``filetype``.
    """
    if filetype not in ("asm", "obj"):
        raise ValueError(f"filetype must be 'asm' or 'obj', not {filetype!r}")
    if not ir.strip():
        return Compiled(False, error="the code block is empty")
    data = ir.encode("utf-8", "replace")
    checked = run_tool("llvm-as", ["-disable-output", "-"], data, timeout)
    if not checked.ok:
        return Compiled(False, error=_short(_as_reason(checked)))
    # llc-19's defaults, as llmcompiler.llvm.toolchain.llc_object/llc_assembly run it
    built = run_tool("llc", llc_args(filetype), data, timeout)
    if not built.ok:
        reason = built.error if built.crashed else f"llc-{LLVM_MAJOR} failed: {built.error}"
        return Compiled(False, error=_short(reason))
    if filetype == "obj":
        try:
            return Compiled(True, size=berkeley_size(built.stdout).binary_size)
        except EvaluationError as err:
            return Compiled(False, error=_short(f"llc-19's object cannot be measured: {err}"))
    try:
        return Compiled(True, assembly=built.stdout.decode())
    except UnicodeDecodeError:
        return Compiled(False, error="llc-19 printed assembly that is not UTF-8")


def _as_reason(run: ToolRun) -> str:
    """The reason llvm-as-19 rejected an answer, named as a parse or a verifier failure."""
    if run.crashed:
        return run.error
    text = run.error.replace("<stdin>:", "answer:")
    if _VERIFY_FAILED in text:
        return "IR does not verify: " + text.replace(_VERIFY_FAILED, "").strip()
    return f"IR does not parse: {text}"


def _short(text: str, limit: int = REASON_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class DisasmCandidate:
    """One answer, checked by round trip.

    Attributes:
        index: the answer's position in the model's output (0: its favourite).
        ir: the IR of the answer's code block (None when it had none).
        round_trip: the IR parsed, verified and compiled back with llc-19.
        assembly: the round-tripped assembly (None unless ``round_trip``).
        bleu: BLEU-4 of the round-tripped assembly against the input (0.0 on failure).
        exact_match: the round-tripped assembly equals the input (normalized).
        error: why the round trip failed (None when it did not).
        truncated: the answer's ``<code>`` block was never closed (cut off).
    """

    index: int
    ir: str | None
    round_trip: bool
    assembly: str | None
    bleu: float
    exact_match: bool
    error: str | None
    truncated: bool = False

    def to_json(self, texts: bool = False) -> dict:
        """The candidate as JSON; ``texts`` adds the IR and the round-tripped assembly."""
        out = {
            "index": self.index,
            "round_trip": self.round_trip,
            "bleu": round(self.bleu, 6),
            "exact_match": self.exact_match,
            "error": self.error,
            "truncated": self.truncated,
        }
        if texts:
            out["ir"] = self.ir
            out["assembly"] = self.assembly
        return out


@dataclass(frozen=True)
class DisasmResult:
    """All candidates for one input, and which one is best.

    Attributes:
        assembly: the input assembly.
        candidates: one per answer, in the model's order.
        best: index into ``candidates`` of the best round-tripped one (None: none did).
    """

    assembly: str
    candidates: tuple[DisasmCandidate, ...]
    best: int | None

    @property
    def best_candidate(self) -> DisasmCandidate | None:
        return None if self.best is None else self.candidates[self.best]

    @property
    def round_trip(self) -> bool:
        return self.best is not None

    def to_json(self, texts: bool = False) -> dict:
        return {
            "best": self.best,
            "round_trip": self.round_trip,
            "candidates": [c.to_json(texts) for c in self.candidates],
        }


def check_answer(
    answer: str,
    assembly: str,
    index: int = 0,
    max_answer_chars: int = MAX_ANSWER_CHARS,
    timeout: float = LLC_TIMEOUT,
) -> DisasmCandidate:
    """Check one model answer against the input ``assembly`` by round trip.

    Returns the candidate; a bad answer gives ``round_trip`` False and the reason
    (:func:`compile_ir`'s, when the tools reject, crash on or time out on its IR).

    Raises:
        LLVMNotFoundError: llvm-as-19 or llc-19 is not installed.
    """

    def failed(reason: str, ir: str | None = None, truncated: bool = False) -> DisasmCandidate:
        return DisasmCandidate(index, ir, False, None, 0.0, False, reason, truncated)

    if not isinstance(answer, str):
        return failed(f"the answer is not text ({type(answer).__name__})")
    if len(answer) > max_answer_chars:
        return failed(f"the answer is {len(answer)} characters, over the {max_answer_chars} limit")
    parsed = parse_answer(answer)
    if parsed.code is None:
        return failed("no <code> block in the answer")
    compiled = compile_ir(parsed.code, "asm", timeout)
    if not compiled.ok:
        reason = compiled.error or "compilation failed"
        if parsed.truncated:
            reason += " (the <code> block was cut off before </code>)"
        return failed(reason, parsed.code, parsed.truncated)
    limit = max(MIN_OUTPUT_CHARS, OUTPUT_FACTOR * len(assembly))
    if len(compiled.assembly) > limit:
        return failed(
            f"the round-tripped assembly is {len(compiled.assembly)} characters, over the "
            f"{limit} limit",
            parsed.code,
            parsed.truncated,
        )
    ours, theirs = normalize(compiled.assembly, "asm"), normalize(assembly, "asm")
    return DisasmCandidate(
        index=index,
        ir=parsed.code,
        round_trip=True,
        assembly=compiled.assembly,
        bleu=sentence_bleu(ours, theirs),
        exact_match=exact_match(compiled.assembly, assembly, "asm"),
        error=None,
        truncated=parsed.truncated,
    )


def score_answers(assembly: str, answers: list[str], timeout: float = LLC_TIMEOUT) -> DisasmResult:
    """Check every answer for ``assembly`` and pick the best (see the module docstring).

    ``timeout``: seconds each tool may take on one answer.

    Raises:
        LLVMNotFoundError: llvm-as-19 or llc-19 is not installed.
    """
    candidates = tuple(check_answer(a, assembly, i, timeout=timeout) for i, a in enumerate(answers))
    best = None
    for c in candidates:
        if c.round_trip and (best is None or c.bleu > candidates[best].bleu):
            best = c.index
    return DisasmResult(assembly, candidates, best)


def generation(k: int, base: GenerationConfig | None = None) -> GenerationConfig:
    """``base`` (default: greedy) asking for ``k`` answers.

    Raises:
        ValueError: k below 1.
    """
    if k < 1:
        raise ValueError("the number of candidates must be at least 1")
    return replace(base or GenerationConfig(), k=k)


def disassemble(
    model: TextModel,
    assembly: str,
    k: int = 1,
    config: GenerationConfig | None = None,
    timeout: float = LLC_TIMEOUT,
) -> DisasmResult:
    """Ask ``model`` for ``k`` IR translations of ``assembly`` and check each.

    ``config`` sets decoding (its ``k`` is replaced by ``k``; default greedy, the
    released models' setting).

    Raises:
        ValueError: k below 1.
        LLVMNotFoundError: llvm-as-19 or llc-19 is not installed.
        ModelError, or whatever the back end raises: generation itself failed.
    """
    answers = model.generate([disassembly_prompt(assembly)], generation(k, config))[0]
    return score_answers(assembly, list(answers), timeout)
