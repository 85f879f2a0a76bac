"""Lists for a program cluster (search/clusters.py): template C++ tries the IR outliner
right away, and a module's share of code in ODR functions is measured exactly."""

from __future__ import annotations

import json

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.llvm import Module, berkeley_size, options
from llmcompiler.llvm.toolchain import llc_object, opt
from llmcompiler.program import load_program, program_from_ir
from llmcompiler.search.clusters import TEMPLATE_LIST, TEMPLATE_SHARE, cluster_lists

IR = """
define linkonce_odr i32 @twice(i32 %x) {
  %a = add i32 %x, %x
  %b = mul i32 %a, 3
  ret i32 %b
}
define weak_odr i32 @once(i32 %x) {
  ret i32 %x
}
define i32 @user(i32 %x) {
  %r = call i32 @twice(i32 %x)
  %s = call i32 @once(i32 %r)
  %t = add i32 %r, %s
  ret i32 %t
}
declare i32 @elsewhere(i32)
"""


def test_odr_share_counts_instructions_of_linkonce_and_weak_odr_functions():
    with Module.parse(IR.encode()) as module:
        assert module.odr_share() == 4 / 8
    assert program_from_ir(IR.encode(), "t.ll").odr_share == 4 / 8
    with Module.parse(b"declare void @f()") as module:
        assert module.odr_share() == 0.0
    assert load_program(FIXTURES / "loops.c").odr_share == 0.0


def _best(capsys, *args: str) -> dict:
    source = str(FIXTURES / "templates.cc")
    assert main(["optimize", source, "--no-model", "--evaluations", "4", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)[0]


def test_template_code_tries_the_ir_outliner_first(capsys, monkeypatch):
    monkeypatch.delenv(options.ENV, raising=False)
    program = load_program(FIXTURES / "templates.cc")
    assert program.odr_share >= TEMPLATE_SHARE
    assert cluster_lists(program) == (TEMPLATE_LIST,)
    assert cluster_lists(load_program(FIXTURES / "cpp_sample.cpp")) == ()
    # Four evaluations: -Oz, the first round (no model: the coreset's first two lists),
    # then the template list.
    best = _best(capsys)
    assert best["best"]["pipeline"] == TEMPLATE_LIST
    outlined = berkeley_size(llc_object(opt(program.bitcode, TEMPLATE_LIST, text=False)))
    assert best["best"]["size"] == outlined.binary_size < best["oz"]["size"]
    # Without a coreset search starts from -Oz alone, and without the option the list
    # gains nothing, so neither tries it.
    assert _best(capsys, "--no-coreset")["best"]["pipeline"] != TEMPLATE_LIST
    monkeypatch.setenv(options.ENV, "none")
    assert cluster_lists(program) == ()
    assert "iroutliner" not in _best(capsys)["best"]["pipeline"]
