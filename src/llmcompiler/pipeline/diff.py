"""A pass list told as its difference from -Oz, in one readable line.

Search returns lists such as LLVM's whole -Oz expansion with one pass removed, then
``function(gvn)``, then -Oz again: 4 KB of text in which the change is invisible.
:func:`describe` finds each copy of -Oz's expansion in the list (by aligning the
list's passes with -Oz's own, :func:`llmcompiler.pipeline.oz.template`) and writes
it as ``-Oz`` followed by its edits in brackets; the passes between copies are
written by name. For example::

    -Oz[-early-cse<>#8; simplifycfg#15 no-sink-common-insts→sink-common-insts] + gvn + -Oz

``#i`` is the pass's position among -Oz's passes (``llmc passes`` does not number
them; ``opt-19 -passes='default<Oz>' -print-pipeline-passes`` lists them in order).
"""

from __future__ import annotations

from difflib import SequenceMatcher

from llmcompiler.pipeline.functions import FUNCTIONS
from llmcompiler.pipeline.oz import template
from llmcompiler.pipeline.passes import OZ
from llmcompiler.pipeline.tree import leaves, parse_tree

#: Share of -Oz's passes a stretch of the list must hold to count as a copy of -Oz.
MATCH_SHARE = 0.8
#: An insertion of more passes than this is told by its length and its ends (search can
#: insert most of -Oz again: 60 passes with their options in one line hide the rest;
#: ``--json`` keeps the full text in ``best.pipeline``).
LONG_RUN = 8


def describe(text: str) -> str:
    """One line naming what ``text`` adds, removes or changes against ``default<Oz>``.

    Returns the text itself when it is not a valid pipeline ('' stays '').
    """
    try:
        nodes = parse_tree(text).nodes
    except Exception:  # noqa: BLE001 - a description never fails
        return text
    whole = tuple(n for n in nodes if n.base != FUNCTIONS)
    names = [leaf.name for leaf in leaves(whole)]
    line = " + ".join(_segments(names, template().names)) or ("" if whole else text)
    steps = [n for n in nodes if n.base == FUNCTIONS and n.children]
    if steps:  # llmc-functions: what runs on how many functions
        each = []
        for n in steps:
            count = len([name for name in n.params.split(";") if name])
            passes = ",".join(leaf.name for leaf in leaves(n.children))
            each.append(f"{passes} on {count} function{'s' if count > 1 else ''}")
        line += f" + per function: {'; '.join(each)}"
    return line


def _segments(names: list[str], oz: tuple[str, ...]) -> list[str]:
    """The parts of ``names``: copies of -Oz with their edits, and runs of other passes."""
    if not names:
        return []
    blocks = SequenceMatcher(None, oz, names, autojunk=False).get_matching_blocks()
    matched = sum(b.size for b in blocks)
    if matched < MATCH_SHARE * len(oz):
        return [_plain(names)]
    start = min(b.b for b in blocks if b.size)
    end = max(b.b + b.size for b in blocks if b.size)
    before, copy, after = names[:start], names[start:end], names[end:]
    parts = _segments(before, oz)
    parts.append(_edits(oz, copy))
    parts += _segments(after, oz)
    return parts


def _plain(names: list[str]) -> str:
    return ",".join("-Oz" if n == OZ else n for n in names)


def _edits(oz: tuple[str, ...], copy: list[str]) -> str:
    """``-Oz`` with the edits that turn -Oz's passes into ``copy``."""
    edits: list[str] = []
    matcher = SequenceMatcher(None, oz, copy, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        i, j = i1, j1
        while i < i2 and j < j2 and _base(oz[i]) == _base(copy[j]):
            edits.append(_changed(oz[i], copy[j], i))
            i, j = i + 1, j + 1
        edits += [f"-{_base(oz[k])}#{k}" for k in range(i, i2)]
        if j < j2:
            where = f"before {_base(oz[i2])}#{i2}" if i2 < len(oz) else "at the end"
            edits.append(f"+{_run(copy[j:j2])} {where}")
    return f"-Oz[{'; '.join(edits)}]" if edits else "-Oz"


def _run(names: list[str]) -> str:
    """Inserted passes: all of them, or for a long run its length and its ends."""
    if len(names) <= LONG_RUN:
        return ",".join(names)
    return f"{len(names)} passes ({_base(names[0])} … {_base(names[-1])})"


def _base(name: str) -> str:
    return name.split("<", 1)[0]


def _changed(old: str, new: str, index: int) -> str:
    """``simplifycfg#15 no-sink-common-insts→sink-common-insts``: the options that differ."""
    base = _base(old)
    before = _options(old)
    after = _options(new)
    gone = [o for o in before if o not in after]
    added = [o for o in after if o not in before]
    if len(gone) == len(added):
        change = " ".join(f"{a}→{b}" for a, b in zip(gone, added))
    else:
        change = " ".join([*(f"-{o}" for o in gone), *(f"+{o}" for o in added)])
    return f"{base}#{index} {change}".rstrip()


def _options(name: str) -> list[str]:
    _, _, params = name.partition("<")
    return [o for o in params.rstrip(">").split(";") if o]
