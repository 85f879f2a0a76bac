"""The code generation settings every measurement shares with the objects users get.

clang-19 picks a relocation model per target: position-independent code on Linux
(Debian links executables as PIE) and Apple platforms, static code for bare-metal
firmware, and so on. An object built with another model is not the code a user gets,
and on Linux it fails the default PIE link. So the reference code generation (llc-19)
and the in-process emitter use the model clang-19 itself picks for the module's
triple, probed once per triple from ``clang-19 --target=TRIPLE -###``, not llc-19's own
default (static on x86-64 Linux). The objects ``llmc`` writes, the sizes it reports
and the programs validation runs are then the same code.
"""

from __future__ import annotations

import functools
import re
import subprocess

#: LLVMRelocMode values of the C API ("default": the target machine chooses).
RELOC_MODES = {"default": 0, "static": 1, "pic": 2, "dynamic-no-pic": 3}
RELOC_MODES.update({"ropi": 4, "rwpi": 5, "ropi-rwpi": 6})

_MODEL = re.compile(r'"-mrelocation-model" "([\w-]+)"')


@functools.cache
def relocation_model(triple: str | None = None) -> str:
    """The relocation model clang-19 compiles ``triple`` (the host's when None) with:
    ``"pic"``, ``"static"``, ``"ropi"``..., or ``"default"`` when clang does not name
    one (then llc-19 and the target machine choose, as for IR that clang did not write).

    Raises:
        LLVMNotFoundError: clang-19 is not installed.
    """
    from llmcompiler.llvm.toolchain import tool

    argv = [tool("clang"), "-###", "-x", "c", "-c", "-", "-o", "/dev/null"]
    if triple:
        argv.insert(1, f"--target={triple}")
    proc = subprocess.run(argv, input=b"", capture_output=True, check=False)
    found = _MODEL.search(proc.stderr.decode("utf-8", "replace"))
    return found[1] if found and found[1] in RELOC_MODES else "default"


def relocation_args(triple: str | None = None) -> list[str]:
    """llc-19's / opt-19's ``-relocation-model=`` argument for ``triple`` (none when
    the model is ``default``)."""
    model = relocation_model(triple)
    return [] if model == "default" else [f"-relocation-model={model}"]
