#!/bin/sh
# check_install.sh BUILD_DIR: install the build into a fresh prefix, check what is
# there, then build and run a client out of tree with pkg-config and with CMake's
# find_package, for each flavour.
set -eu
build=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
fail() { echo "FAIL: $*"; exit 1; }
pcdir=$(dirname "$(find "$prefix" -name anyhv-x86_64.pc | head -n1)")
[ -f "$pcdir/anyhv-arm64.pc" ] || fail "no anyhv-arm64.pc"
for f in x86_64 arm64; do
    lib=$(find "$prefix" -name "libanyhv-$f.so.*.*.*" | head -n1)
    [ -n "$lib" ] || fail "no versioned libanyhv-$f"
    soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    [ -e "$(dirname "$lib")/$soname" ] || fail "no $soname link"
    [ -e "$(dirname "$lib")/libanyhv-$f.so" ] || fail "no libanyhv-$f.so link"
done
for h in Hypervisor/Hypervisor.h Hypervisor/hv_vmx.h Hypervisor/hv_vcpu.h anyhv/anyhv.h; do
    [ -f "$prefix/include/anyhv/$h" ] || fail "header $h not installed"
done
[ -f "$(dirname "$pcdir")/cmake/anyhv/anyhvConfig.cmake" ] || fail "no CMake package config"
"$prefix/bin/anyhv-run" --help >/dev/null || fail "installed anyhv-run does not start"
export PKG_CONFIG_PATH=$pcdir
for f in x86_64 arm64; do
    # shellcheck disable=SC2046
    cc -std=c17 -Wall -Werror -o "$tmp/pc_$f" "$here/client.c" $(pkg-config --cflags --libs "anyhv-$f") \
        -Wl,-rpath,"$(pkg-config --variable=libdir "anyhv-$f")"
    "$tmp/pc_$f" || fail "pkg-config client ($f) failed"
done
cmake -S "$here/project" -B "$tmp/proj" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/proj" >/dev/null
for f in x86_64 arm64; do
    "$tmp/proj/client_$f" || fail "find_package client ($f) failed"
done
echo "install check passed: $prefix"
