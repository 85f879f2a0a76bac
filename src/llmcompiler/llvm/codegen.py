"""The code generation settings every measurement shares with the objects users get.

clang-19 on this platform compiles to position-independent code by default (Debian
links executables as PIE), and an object that is not PIC fails that default link. So
the reference code generation (llc-19) and the in-process emitter use the relocation
model that clang-19 itself picks on the platform, probed once from ``clang-19 -###``,
not llc-19's own default (static on x86-64 Linux). The objects ``llmc`` writes, the
sizes it reports and the programs validation runs are then the same code, and they
link with the platform's default flags.
"""

from __future__ import annotations

import functools
import subprocess

#: LLVMRelocMode values of the C API.
RELOC_MODES = {"static": 1, "pic": 2}


@functools.cache
def relocation_model() -> str:
    """``"pic"`` when clang-19 compiles position-independent code by default on this
    platform, else ``"static"``.

    Raises:
        LLVMNotFoundError: clang-19 is not installed.
    """
    from llmcompiler.llvm.toolchain import tool

    proc = subprocess.run(
        [tool("clang"), "-###", "-x", "c", "-c", "-", "-o", "/dev/null"],
        input=b"",
        capture_output=True,
        check=False,
    )
    jobs = proc.stderr.decode("utf-8", "replace")
    return "pic" if '"-mrelocation-model" "pic"' in jobs else "static"
