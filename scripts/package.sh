#!/usr/bin/env bash
# Builds the Debian packages (docs/deploy.md): a Release build in build/ (as scripts/test.sh makes it), then CPack's
# DEB generator, one package per role and libfdo-dev. Prints the folder that holds the .deb files.
#   scripts/package.sh [--build-dir DIR] [--out DIR] [--jobs N]
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
out=
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--out DIR] [--jobs N]" >&2; exit 2 ;;
  esac
done
out=${out:-$build/packages}

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
ninja -C "$build" -j "$jobs"
mkdir -p "$out"
rm -f "$out"/*.deb
cpack --config "$build/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1 || { cat "$out/cpack.log" >&2; exit 1; }
rm -rf "$out/_CPack_Packages"
ls "$out"/*.deb | sed 's|.*/|  |'
echo "packages in $(cd "$out" && pwd)"
