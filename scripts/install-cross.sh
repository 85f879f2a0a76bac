#!/usr/bin/env bash
# Installs what validation needs to link and run other targets' programs here (Debian 12):
# lld-19, qemu-user, the cross C and C++ libraries of the Linux targets, picolibc for
# bare-metal Arm and RISC-V, and the WASI libc; and the build tools `llmc cc` is tested
# with on real projects (make, cmake). Packages already installed are skipped.
set -euo pipefail
arches="arm64 armhf riscv64 i386 ppc64el s390x mips"
want="lld-19 qemu-user picolibc-arm-none-eabi picolibc-riscv64-unknown-elf"
want="$want wasi-libc libclang-rt-19-dev-wasm32 make cmake autoconf automake libtool"
for a in $arches; do
    want="$want libc6-dev-$a-cross libgcc-12-dev-$a-cross libstdc++-12-dev-$a-cross"
done
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "cross-target tools are missing: run as root: apt-get install -y$missing" >&2; exit 1
fi
echo "installing$missing from Debian..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
