"""One line for a failed tool: the first error line, not a crash's stack dump."""

from llmcompiler.llvm.toolchain import failure_line


def test_first_error_line_then_any_line_then_a_placeholder():
    dump = b"Stack dump:\n#0 0x1 llvm::foo\nLLVM ERROR: out of range\nerror: later\n"
    assert failure_line(dump) == "LLVM ERROR: out of range"
    assert failure_line(b"\n  warning: odd\n") == "warning: odd"
    assert failure_line(b"") == "no message"
    assert failure_line(b"", returncode=-11) == "no message (killed by signal 11)"
    assert len(failure_line(b"error: " + b"x" * 1000)) == 400


def test_lines_skipped_and_other_marks():
    said = b"ld.lld: undefined symbol: f\nclang: error: linker command failed with exit code 1\n"
    line = failure_line(said, skip=("linker command failed",), marks=("undefined",))
    assert line == "ld.lld: undefined symbol: f"
    assert failure_line(said) == "clang: error: linker command failed with exit code 1"
