"""What the IR says about inlining: the features the built-in model adds to Autophase's.

The largest size differences between pass lists come from inlining: a library written
with ``always_inline`` helpers (lz4's ``LZ4_FORCE_INLINE``, libdeflate's
``forceinline``) grows many times under -Oz's inliner, and a list that leaves the
inliner out can be half the size. None of the opcode and CFG counts of
:mod:`llmcompiler.analysis.features` sees that, so the model also reads, from the
module's text: functions and their linkage, their attribute groups (``alwaysinline``,
``noinline``), the call sites that reach each kind, and how many instructions live in
functions the inliner must or may copy.

All values are counts over defined functions (:data:`CALL_FEATURE_NAMES` in order).
"""

from __future__ import annotations

import re

CALL_FEATURE_NAMES = (
    "defined_functions",
    "internal_functions",  # internal or private linkage: the inliner may delete them
    "alwaysinline_functions",
    "noinline_functions",
    "instructions_in_alwaysinline",
    "instructions_in_internal",
    "calls_to_defined",  # call sites whose callee is defined in the module
    "calls_to_alwaysinline",
    "calls_to_internal",
    "internal_called_once",  # internal functions with exactly one call site
    "internal_called_many",  # internal functions with more than 2 call sites
    "global_variables",
    "constant_globals",
)

_DEFINE = re.compile(r"^define\s+(?P<head>[^@]*)@(?P<name>[-\w$.]+|\"[^\"]+\")\(")
_ATTR_GROUP = re.compile(r"^attributes #(\d+) = \{(.*)\}")
_GROUP_REF = re.compile(r"\)\s*(?:[\w()]+\s+)*#(\d+)")
_CALL = re.compile(r"\b(?:call|invoke)\b[^@]*@([-\w$.]+|\"[^\"]+\")\(")
_GLOBAL = re.compile(r"^@[-\w$.\"]+\s*=\s*(?P<rest>.*)")


def call_features(ir: str) -> list[int]:
    """Counts of :data:`CALL_FEATURE_NAMES` for the module whose IR text is ``ir``.

    The text is read line by line as LLVM prints it; never raises on odd input (a line
    it does not understand counts for nothing).
    """
    groups: dict[str, str] = {}
    functions: dict[str, dict] = {}
    current: dict | None = None
    calls: list[str] = []
    counts = dict.fromkeys(CALL_FEATURE_NAMES, 0)
    for line in ir.splitlines():
        if current is not None:
            if line.startswith("}"):
                current = None
                continue
            stripped = line.strip()
            if stripped and not stripped.endswith(":") and not stripped.startswith(";"):
                current["instructions"] += 1
                found = _CALL.search(stripped)
                if found:
                    calls.append(found.group(1))
            continue
        if line.startswith("define"):
            match = _DEFINE.match(line)
            if match is None:
                continue
            head = match.group("head")
            ref = _GROUP_REF.search(line[match.end() :])
            current = {
                "internal": " internal " in f" {head} " or " private " in f" {head} ",
                "group": ref.group(1) if ref else None,
                "instructions": 0,
                "inline": " alwaysinline " in line,
                "noinline": " noinline " in line,
            }
            functions[match.group("name")] = current
        elif line.startswith("attributes #"):
            match = _ATTR_GROUP.match(line)
            if match:
                groups[match.group(1)] = f" {match.group(2)} "
        elif line.startswith("@"):
            match = _GLOBAL.match(line)
            if match:
                counts["global_variables"] += 1
                counts["constant_globals"] += " constant " in f" {match.group('rest')} "
    for fn in functions.values():
        attrs = groups.get(fn["group"] or "", "")
        fn["inline"] = fn["inline"] or " alwaysinline " in attrs
        fn["noinline"] = fn["noinline"] or " noinline " in attrs
    callers: dict[str, int] = {}
    for callee in calls:
        if callee in functions:
            callers[callee] = callers.get(callee, 0) + 1
    counts["defined_functions"] = len(functions)
    for name, fn in functions.items():
        n = callers.get(name, 0)
        counts["internal_functions"] += fn["internal"]
        counts["alwaysinline_functions"] += fn["inline"]
        counts["noinline_functions"] += fn["noinline"]
        counts["instructions_in_alwaysinline"] += fn["instructions"] if fn["inline"] else 0
        counts["instructions_in_internal"] += fn["instructions"] if fn["internal"] else 0
        counts["calls_to_defined"] += n
        counts["calls_to_alwaysinline"] += n if fn["inline"] else 0
        counts["calls_to_internal"] += n if fn["internal"] else 0
        counts["internal_called_once"] += fn["internal"] and n == 1
        counts["internal_called_many"] += fn["internal"] and n > 2
    return [int(counts[name]) for name in CALL_FEATURE_NAMES]
