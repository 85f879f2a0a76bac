"""Differential testing: a candidate must behave like the -O0 build of the same program.

The reference is the unoptimized module built with ``clang-19 -O0``; a candidate is its
optimized module compiled by ``llc-19`` (the code whose size we report) and linked by
clang. Both are built for the module's target and run with the same arguments and stdin
under a timeout, natively or under the target's emulator
(:mod:`llmcompiler.llvm.runtime`); stdout and the exit status must match.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass

from llmcompiler.errors import LLMCError
from llmcompiler.llvm.runtime import runtime_for, why_not
from llmcompiler.llvm.toolchain import file_arg, llc_object
from llmcompiler.program import Program


@dataclass(frozen=True)
class RunSpec:
    """How to run a program: arguments, standard input, time limit in seconds."""

    args: tuple[str, ...] = ()
    stdin: bytes = b""
    timeout: float = 10.0


@dataclass(frozen=True)
class Outcome:
    """What one run printed and how it ended (``returncode`` None: timed out)."""

    stdout: bytes
    returncode: int | None

    def describe(self) -> str:
        if self.returncode is None:
            return "timed out"
        if self.returncode < 0:
            return f"killed by signal {-self.returncode}"
        return f"exit status {self.returncode}"


class Validator:
    """Compares candidates of one program against its -O0 build.

    Raises:
        LLMCError: the program has no ``main``, its target's programs cannot run here
            (``not validated: cannot run <triple> here (...)``), or its -O0 build fails
            to link.
    """

    def __init__(self, program: Program, spec: RunSpec = RunSpec()) -> None:
        if not program.has_main:
            raise LLMCError(f"{program.name}: cannot validate: no main function")
        runtime = runtime_for(program.triple)
        if runtime is None:
            raise LLMCError(f"{program.name}: not validated: {why_not(program.triple)}")
        self.runtime = runtime
        self.program = program
        self.spec = spec
        self._dir = tempfile.TemporaryDirectory(prefix="llmc-validate-")
        source = self._write("input.bc", program.bitcode)
        reference = os.path.join(self._dir.name, "reference")
        self._link(["-x", "ir", source, "-O0"], reference)
        self.expected = self._run(reference)
        #: Why no candidate can be checked (the -O0 build timed out), or None.
        self.unusable: str | None = None
        if self.expected.returncode is None:
            self.unusable = f"not validated (the -O0 build timed out after {spec.timeout:g} s)"

    def _write(self, name: str, data: bytes) -> str:
        """Write ``data`` to ``name`` in the work folder; return its path as clang's
        argument (:func:`file_arg`)."""
        path = os.path.join(self._dir.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return file_arg(path)

    def _link(self, inputs: list[str], exe: str) -> None:
        """Build an executable with the target's link command (clang++-19 on the host:
        C++ runtime and libm linked in), with the platform's default link flags: the
        objects are compiled with the platform's relocation model
        (:mod:`llmcompiler.llvm.codegen`), so a PIE links as a user's default
        ``clang x.o`` would."""
        argv = self.runtime.link_argv(inputs, exe)
        proc = subprocess.run(argv, capture_output=True, timeout=300)
        if proc.returncode != 0:
            lines = proc.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"]
            # the linker's first line names only the object; the cause is on a later one
            cause = next((ln for ln in lines if "undefined reference" in ln), lines[0])
            raise LLMCError(f"{self.program.name}: cannot link for validation: {cause.strip()}")

    def _run(self, exe: str) -> Outcome:
        """Run ``exe`` in the work folder, with its temporary files there too (TMPDIR):
        a run killed at its timeout cannot clean up after itself (the WASI runner's
        files, a program's own), and the work folder goes at :meth:`close`."""
        try:
            proc = subprocess.run(
                self.runtime.run_argv(exe, self.spec.args),
                input=self.spec.stdin,
                capture_output=True,
                timeout=self.spec.timeout,
                cwd=self._dir.name,
                env={**os.environ, "TMPDIR": self._dir.name},
            )
        except subprocess.TimeoutExpired as err:
            return Outcome(err.stdout or b"", None)
        return Outcome(proc.stdout, proc.returncode)

    def check(self, optimized_bitcode: bytes) -> tuple[bool, str]:
        """Build and run a candidate; return (same behaviour?, explanation). A candidate
        that times out is never the same: only a finished run can be compared (and when
        the -O0 build itself times out, ``unusable`` says so and nothing is checked)."""
        obj = self._write("candidate.o", llc_object(optimized_bitcode, triple=self.program.triple))
        exe = os.path.join(self._dir.name, "candidate")
        try:
            self._link([obj], exe)
        except LLMCError as err:
            return False, str(err)
        got = self._run(exe)
        if got.returncode is None:
            why = f"timed out after {self.spec.timeout:g} s"
            return False, f"{why}, -O0 gives {self.expected.describe()}"
        if got == self.expected:
            return True, "same output and exit status as -O0"
        if got.returncode != self.expected.returncode:
            return False, f"{got.describe()}, -O0 gives {self.expected.describe()}"
        return False, "output differs from -O0"

    def close(self) -> None:
        self._dir.cleanup()
