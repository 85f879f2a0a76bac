"""``llmc cc`` command-line classification on real command lines from Make, CMake,
autotools and the Linux kernel (llmcompiler.driver.argv)."""

from __future__ import annotations

import shlex

import pytest

from llmcompiler.driver.argv import (
    COMPILE,
    PASSTHROUGH,
    classify,
    codegen_key,
    strip_launcher,
)


def parse(line: str):
    return classify(shlex.split(line))


def test_automake_compile_with_depfile():
    c = parse("-DHAVE_CONFIG_H -I. -g -O2 -MT x.o -MD -MP -MF .deps/x.Tpo -c -o x.o x.c")
    assert c.kind == COMPILE
    (s,) = c.sources
    assert (s.path, s.language, s.output, s.explicit) == ("x.c", "c", "x.o", False)
    assert c.flags == ("-DHAVE_CONFIG_H", "-I.", "-g")
    assert c.dependency == ("-MT", "x.o", "-MD", "-MP", "-MF", ".deps/x.Tpo")
    assert c.opt_level == "-O2"
    # the user named target and file: nothing is added
    assert c.dependency_flags(s) == list(c.dependency)


def test_cmake_compile():
    c = parse(
        "-DNDEBUG -I/src/include -O3 -fPIC -std=gnu11 -MD -MT CMakeFiles/t.dir/a.c.o "
        "-MF CMakeFiles/t.dir/a.c.o.d -o CMakeFiles/t.dir/a.c.o -c /abs/a.c"
    )
    assert c.kind == COMPILE
    assert c.sources[0].output == "CMakeFiles/t.dir/a.c.o"
    assert c.flags == ("-DNDEBUG", "-I/src/include", "-fPIC", "-std=gnu11")
    assert c.writes_dependencies


def test_plain_make_rule_names_target_and_depfile_as_clang_would():
    c = parse("-Wall -Os -MMD -c src/util.c -o build/util.o")
    (s,) = c.sources
    assert c.dependency_flags(s) == ["-MMD", "-MQ", "build/util.o", "-MF", "build/util.d"]
    c = parse("-MD -c dir/main.c")  # no -o: main.o and main.d in the working directory
    (s,) = c.sources
    assert s.output == "main.o"
    assert c.dependency_flags(s) == ["-MD", "-MQ", "main.o", "-MF", "main.d"]


def test_kernel_style_wp_md():
    c = parse("-Wp,-MMD,drivers/.foo.o.d -nostdinc -O2 -c -o drivers/foo.o drivers/foo.c")
    assert c.kind == COMPILE
    assert c.dependency == ("-MMD", "-MF", "drivers/.foo.o.d")
    assert "-Wp,-MMD,drivers/.foo.o.d" not in c.flags
    (s,) = c.sources
    assert c.dependency_flags(s) == ["-MMD", "-MF", "drivers/.foo.o.d", "-MQ", "drivers/foo.o"]


def test_several_sources_without_o():
    c = parse("-c -O2 a.c sub/b.cpp c.cc")
    assert c.kind == COMPILE
    assert [(s.path, s.language, s.output) for s in c.sources] == [
        ("a.c", "c", "a.o"),
        ("sub/b.cpp", "c++", "b.o"),
        ("c.cc", "c++", "c.o"),
    ]
    # the fallback for one source: the others dropped, -Oz in place of -O2
    assert c.fallback_args(c.sources[1]) == ["-Oz", "-c", "sub/b.cpp"]


def test_explicit_language_and_joined_values():
    c = parse("-xc -c weird.txt -ofoo.o -Iinc -DX=1")
    assert c.kind == COMPILE
    (s,) = c.sources
    assert (s.language, s.explicit, s.output) == ("c", True, "foo.o")
    assert c.flags == ("-Iinc", "-DX=1")
    c = parse("-x c++ -c a.c -x none -c b.c")  # -x none: back to the suffix
    assert [(s.language, s.explicit) for s in c.sources] == [("c++", True), ("c", False)]


def test_separate_values_are_not_inputs():
    c = parse(
        "-c a.c -I inc -D NAME -include config.h -isystem /opt/inc -MF a.d -MD "
        "-target x86_64-linux-gnu -mllvm -inline-threshold=10 -Xlinker --as-needed"
    )
    assert c.kind == COMPILE
    assert [s.path for s in c.sources] == ["a.c"]
    assert "config.h" in c.flags and "/opt/inc" in c.flags


def test_ofast_keeps_its_fast_math():
    c = parse("-Ofast -c a.c -o a.o")
    assert c.fallback_args(c.sources[0]) == ["-Oz", "-ffast-math", "-c", "a.c", "-o", "a.o"]


@pytest.mark.parametrize(
    "line, reason",
    [
        ("a.o b.o -o prog -lm", "no -c"),
        ("-O2 main.c -o prog", "no -c"),
        ("-E x.c", "-E"),
        ("-E -dM - < /dev/null", "-E"),
        ("-c x.s -o x.o", "not a C or C++ source"),
        ("-c x.S -o x.o", "not a C or C++ source"),
        ("-S x.c -o x.s", "-S"),
        ("-M x.c", "-M"),
        ("-MM -c x.c", "-MM"),
        ("--version", "--version"),
        ("-v", "verbose"),
        ("-###  -c x.c", "-###"),
        ("-c -emit-llvm x.c -o x.bc", "-emit-llvm"),
        ("-fsyntax-only x.c", "-fsyntax-only"),
        ("-flto -c x.c", "LTO"),
        ("-flto=thin -c x.c", "LTO"),
        ("-save-temps -c x.c", "-save-temps"),
        ("-c -x c -", "standard input"),
        ("--analyze x.c", "--analyze"),
        ("-Xclang -ast-dump -c x.c", "-Xclang"),
        ("@args.rsp", "response file"),
        ("-c @args.rsp", "response file"),
        ("-c -g -O2 conftest.c", "probe"),
        ("-c conftest.cpp -o conftest.o", "probe"),
        (
            "-o CMakeFiles/cmTC_1.dir/src.c.o -c /b/CMakeFiles/CMakeScratch/TryCompile-x/src.c",
            "probe",
        ),
        ("-c CMakeCCompilerId.c", "probe"),
        # try_compile of a project's own file (zlib-ng's cmake/detect-arch.c)
        ("-o CMakeFiles/cmTC_d7caa.dir/detect-arch.c.o -c /src/cmake/detect-arch.c", "probe"),
        ("-c a.c b.c -o x.o", "several sources"),
        ("-c a.c -o /dev/null", "probe"),
        ("-c a.c -o -", "probe"),
        ("-fsanitize=address -c a.c", "sanitizer"),
        ("-fprofile-instr-generate -c a.c", "profile"),
        ("--coverage -c a.c", "coverage"),
        ("-x c-header -c a.h", "not a C or C++ source"),
        ("-x assembler-with-cpp -c a.c", "not a C or C++ source"),
        ("-c a.m", "not a C or C++ source"),
        ("-c a.i", "not a C or C++ source"),
        ("-arch arm64 -c a.c", "-arch"),
        ("-print-file-name=libgcc.a", "query"),
        ("-dumpmachine", "query"),
        ("-c", "no input"),
        ("-c a.c -o", "without its value"),
        ("-gsplit-dwarf -c a.c", "split-dwarf"),
    ],
)
def test_passthrough(line, reason):
    c = parse(line)
    assert c.kind == PASSTHROUGH, line
    assert reason in c.reason, (line, c.reason)
    assert c.args == tuple(shlex.split(line))


def test_launcher_compiler_path_is_dropped():
    assert strip_launcher(["/usr/bin/clang-19", "-c", "a.c"], False) == (["-c", "a.c"], False)
    assert strip_launcher(["clang++-19", "-c", "a.cc"], False) == (["-c", "a.cc"], True)
    assert strip_launcher(["clang", "--version"], False) == (["--version"], False)
    assert strip_launcher(["-c", "a.c"], True) == (["-c", "a.c"], True)
    assert strip_launcher(["a.c", "-c"], False) == (["a.c", "-c"], False)  # a file


def test_codegen_key():
    key = codegen_key(
        shlex.split(
            "-I. -DX -std=c99 -Wall -fPIC -ffunction-sections -g -march=native "
            "-fdiagnostics-color=always -target aarch64-linux-gnu -mllvm -x=1 -Wa,--noexecstack"
        )
    )
    assert key == (
        "--target=aarch64-linux-gnu -Wa,--noexecstack -fPIC -ffunction-sections -g "
        "-march=native -mllvm=-x=1"
    )
    # the last of a negated pair counts, as in clang, and order does not matter
    assert codegen_key(["-fno-pic", "-fPIC"]) == codegen_key(["-fPIC"]) == "-fPIC"
    assert codegen_key(["-fPIC", "-fno-pic"]) == "-fno-pic"
    assert codegen_key(["-fdata-sections", "-ffunction-sections"]) == codegen_key(
        ["-ffunction-sections", "-fdata-sections"]
    )
    assert codegen_key(["-fomit-frame-pointer", "-fno-omit-frame-pointer"]) == (
        "-fno-omit-frame-pointer"
    )
    assert codegen_key(["-I", "-fake", "-DX"]) == ""  # a value is not an option
    assert codegen_key([]) == ""


def test_a_compile_run_in_cmakes_scratch_folder_is_a_probe(tmp_path, monkeypatch):
    scratch = tmp_path / "CMakeFiles" / "CMakeTmp"
    scratch.mkdir(parents=True)
    monkeypatch.chdir(scratch)
    c = parse("-c /src/cmake/detect-arch.c -o detect.o")
    assert c.kind == PASSTHROUGH and "try_compile" in c.reason
    monkeypatch.chdir(tmp_path)
    assert parse("-c /src/cmake/detect-arch.c -o detect.o").kind == COMPILE
