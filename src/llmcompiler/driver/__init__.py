"""``llmc cc`` / ``llmc c++``: a drop-in compiler for real builds.

It classifies a clang command line, handles only compiling C/C++ sources to objects
(compile to IR with the user's flags, tune with the build's shared tuning database,
emit the object with the user's code generation options), hands everything else to
clang-19 unchanged, and falls back to ``clang -Oz`` on any failure of its own.
"""
