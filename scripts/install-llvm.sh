#!/usr/bin/env bash
# Installs Debian's LLVM 19 (opt, llc, clang, llvm-size, libLLVM) when it is missing.
set -euo pipefail
need=0
for t in clang-19 opt-19 llc-19 llvm-size-19; do
    command -v "$t" >/dev/null 2>&1 || need=1
done
[ -e /usr/lib/llvm-19/lib/libLLVM.so.1 ] || need=1
[ "$need" = 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "LLVM 19 is missing: run as root: apt-get install -y llvm-19 clang-19" >&2; exit 1
fi
echo "installing llvm-19 clang-19 from Debian..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq llvm-19 clang-19 >/dev/null
