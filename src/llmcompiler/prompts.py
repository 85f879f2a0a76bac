"""The LLM Compiler prompt formats, the answers a dataset teaches, and lenient answer parsers.

Prompts are Meta's published strings, character for character (DESIGN.md, "The LLM
Compiler prompt formats"): no system prompt, no chat template; the tokenizer adds BOS.

Answers (the ``completion`` of a record):

- Emulation, IR: ``The LLVM-IR will have instruction count N and binary sise M bytes:``
  then a blank line and ``<code>IR</code>``. "sise" is the released models' spelling,
  kept so that a model trained here answers like them.
- Emulation, assembly: the same sentence beginning ``The assembly will have`` (and
  still "sise"). DESIGN.md gives only the assembly prompt; no released answer for it
  was seen, so this mirrors the IR answer with the one word changed. The numbers are
  the same in both variants: the IR instruction count after the passes and the binary
  size of the object llc-19 makes from that IR.
- Flag tuning: ``Run passes PASSES to get instruction count N and binary size M bytes:``
  then a blank line and ``<code>IR</code>``, where PASSES is the pass list in
  ``opt -p`` syntax (it has no spaces, so it needs no quotes) and the IR is the
  module after those passes. The released models answered with a pass list, a size
  and code; this is our spelling of that, written down so parsers and trainers agree.
- Disassembly: ``<code>IR</code>``.

The parsers accept what a model may write instead: "size" or "sise", any prefix
before the sentence, quotes around the pass list, ``opt -p '...'`` instead of
``Run passes``, and a ``<code>`` block that a length limit cut before ``</code>``.
They never validate a pass list: run :func:`llmcompiler.pipeline.validate` before
running one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

EMULATION_IR_PROMPT = (
    "[INST] Give the LLVM-IR for the following code when optimized using opt -p '{passes}':"
    "\n\n<code>{ir}</code>\n\n"
    "The input code has instruction count {ir_count} and binary size {bin_size} bytes. [/INST]"
)
EMULATION_ASM_PROMPT = (
    "[INST] Give the assembly for the following code when optimized using opt -p '{passes}':"
    "\n\n<code>{ir}</code>\n\n"
    "The input code has instruction count {ir_count} and binary size {bin_size} bytes. [/INST]"
)
FLAG_TUNING_PROMPT = (
    "[INST] Tell me how to optimize this LLVM-IR for object file size:\n\n<code>{ir}</code> [/INST]"
)
DISASSEMBLY_PROMPT = "[INST] Disassemble this code to LLVM-IR:\n\n<code>{asm}</code> [/INST]"

EMULATION_ANSWER = (
    "The {what} will have instruction count {instcount} and binary sise {size} bytes:"
    "\n\n<code>{code}</code>"
)
FLAG_TUNING_ANSWER = (
    "Run passes {passes} to get instruction count {instcount} and binary size {size} bytes:"
    "\n\n<code>{ir}</code>"
)
DISASSEMBLY_ANSWER = "<code>{ir}</code>"

#: Emulation variants: what the answer holds.
VARIANTS = ("ir", "asm")


def emulation_prompt(variant: str, passes: str, ir: str, instcount: int, size: int) -> str:
    """The emulation prompt for ``variant`` ("ir" or "asm").

    Raises:
        ValueError: unknown variant.
    """
    template = {"ir": EMULATION_IR_PROMPT, "asm": EMULATION_ASM_PROMPT}.get(variant)
    if template is None:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    return template.format(passes=passes, ir=ir, ir_count=instcount, bin_size=size)


def emulation_answer(variant: str, instcount: int, size: int, code: str) -> str:
    """The emulation answer: the output's instruction count and size, then its code."""
    what = {"ir": "LLVM-IR", "asm": "assembly"}.get(variant)
    if what is None:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    return EMULATION_ANSWER.format(what=what, instcount=instcount, size=size, code=code)


def flag_tuning_prompt(ir: str) -> str:
    return FLAG_TUNING_PROMPT.format(ir=ir)


def flag_tuning_answer(passes: str, instcount: int, size: int, ir: str) -> str:
    return FLAG_TUNING_ANSWER.format(passes=passes, instcount=instcount, size=size, ir=ir)


def disassembly_prompt(asm: str) -> str:
    return DISASSEMBLY_PROMPT.format(asm=asm)


def disassembly_answer(ir: str) -> str:
    return DISASSEMBLY_ANSWER.format(ir=ir)


# -- parsing model answers ------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What could be read from a model's answer; a field is None when absent.

    Attributes:
        code: the text of the first ``<code>`` block (to the end when ``</code>`` is
            missing, see ``truncated``).
        instcount: the instruction count the answer claims.
        size: the binary size in bytes the answer claims.
        passes: the pass list (flag tuning), quotes removed, not validated.
        truncated: the ``<code>`` block was opened and never closed.
    """

    code: str | None = None
    instcount: int | None = None
    size: int | None = None
    passes: str | None = None
    truncated: bool = False


_INSTCOUNT = re.compile(r"instruction\s+count\s*(?:of|is|:|=)?\s*(\d+)", re.I)
_SIZE = re.compile(r"(?:binary|object(?:\s+file)?)\s+si[sz]e\s*(?:of|is|:|=)?\s*(\d+)", re.I)
_PASSES = (
    re.compile(r"Run\s+passes\s+(?P<q>['\"`]?)(?P<p>.+?)(?P=q)\s+to\s+get\b", re.I),
    re.compile(r"opt\s+(?:-p|-passes=?|--passes=?)\s*(?P<q>['\"`]?)(?P<p>[^'\"`\s]+)(?P=q)", re.I),
)
_CODE = re.compile(r"<code>(.*?)(</code>|$)", re.S)


def parse_answer(text: str) -> Answer:
    """Read code, instruction count, size and pass list from a model's answer.

    Numbers and the pass list are looked for only before the code block, so IR that
    mentions "instruction count" cannot be mistaken for the claim. Never raises.
    """
    code_match = _CODE.search(text)
    head = text[: code_match.start()] if code_match else text
    code, truncated = None, False
    if code_match:
        code = code_match.group(1)
        truncated = code_match.group(2) == ""
    instcount = _int(_INSTCOUNT.search(head))
    size = _int(_SIZE.search(head))
    passes = None
    for pattern in _PASSES:
        found = pattern.search(head)
        if found:
            passes = found.group("p").strip()
            break
    return Answer(code=code, instcount=instcount, size=size, passes=passes, truncated=truncated)


def _int(match: re.Match | None) -> int | None:
    return int(match.group(1)) if match else None


_MODULE_ID = re.compile(r"\A; ModuleID = '[^'\n]*'")


def name_module(ir: str, path: str) -> str:
    """``ir`` with its ``; ModuleID`` comment naming the file ``path`` (its base name), as
    clang's output names the source file: the one rule for IR shown to a model."""
    name = os.path.basename(path).replace("'", "")
    return _MODULE_ID.sub(f"; ModuleID = '{name}'", ir, count=1)
