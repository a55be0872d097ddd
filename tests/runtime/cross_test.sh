#!/usr/bin/env bash
# Builds the runtime with a Debian cross compiler (plain C11, no CMake) and runs the smoke
# artifact for that architecture under qemu-user.
#   cross_test.sh ARCH SOURCE_DIR BUILD_DIR      (ARCH: aarch64 or riscv64)
# Exits 77 (ctest: skipped) when the cross compiler or qemu is missing.
set -euo pipefail
arch=$1 src=$2 build=$3
cc=$arch-linux-gnu-gcc
qemu=qemu-$arch
for tool in "$cc" "$qemu"; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not found (install gcc-$arch-linux-gnu and qemu-user)"
    exit 77
  fi
done
out=$build/cross_$arch
mkdir -p "$out"
sources=$(sed -n 's|^  src/\(.*\.c\)$|'"$src"'/runtime/src/\1|p' "$src/runtime/CMakeLists.txt")
set -x
$cc -std=c11 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers \
  -pthread -I"$src/runtime/include" -I"$src/runtime/src" \
  $sources "$src/tests/runtime/cross_smoke.c" -o "$out/cross_smoke" -lm
run="$qemu -L /usr/$arch-linux-gnu"
$run "$out/cross_smoke" "$build/smoke_$arch.eave"
if [ "$arch" = riscv64 ]; then
  # The artifact that requires the vector extension: refused without it, accepted with it.
  $run -cpu rv64,v=false "$out/cross_smoke" "$build/smoke_riscv64_v.eave" \
    --expect "requires CPU feature 'v'"
  $run -cpu rv64,v=true "$out/cross_smoke" "$build/smoke_riscv64_v.eave"
fi
