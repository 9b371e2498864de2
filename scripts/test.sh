#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, and runs the whole test suite (ctest),
# then the unit tests again under ASan+UBSan, then each fuzz target for a few seconds.
# Exits non-zero on any failure.
#   --no-sanitize   skip the ASan/UBSan pass        (or FDO_SKIP_SANITIZE=1)
#   --no-fuzz       skip the bounded fuzzing pass   (or FDO_SKIP_FUZZ=1)
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=${FDO_SKIP_SANITIZE:-0}
fuzz=${FDO_SKIP_FUZZ:-0}
for arg in "$@"; do
  case "$arg" in
    --no-sanitize) sanitize=1 ;;
    --no-fuzz) fuzz=1 ;;
    *) echo "usage: $0 [--no-sanitize] [--no-fuzz]" >&2; exit 2 ;;
  esac
done

jobs=$(nproc)
./scripts/setup.sh
# ccache, when the machine has it, makes a rebuild after a small change quick; it is not required.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi

echo "== build (build/, Release: the way a user builds it, warnings as errors)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
ninja -C build -j "$jobs"

echo "== tests (build/)"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600

# The README's demo, run from a fresh clone with nothing beside it, so that a file the repository forgot shows
# up here and not on a user's machine. It reuses the tools just built.
echo "== demo from a fresh clone (scripts/demo.sh)"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  demo_tmp=$(mktemp -d)
  git clone -q "$(pwd)" "$demo_tmp/alone/fdo-cpp"
  if ! "$demo_tmp/alone/fdo-cpp/scripts/demo.sh" --bin "$(pwd)/build/bin" --dir "$demo_tmp/demo" \
    >"$demo_tmp/demo.log" 2>&1; then
    cat "$demo_tmp/demo.log"
    echo "FAILED: scripts/demo.sh from a fresh clone (of the committed tree)" >&2
    exit 1
  fi
  grep -c '^ *[0-9]*\. ' "$demo_tmp/demo.log" | sed 's/$/ demo steps passed/'
  rm -rf "$demo_tmp"
elif [ "${CI:-}" = true ]; then
  echo "FAILED: CI must run from a git checkout to test the demo from a fresh clone" >&2
  exit 1
else
  echo "skipped: not a git checkout"
fi

if [ "$sanitize" = 0 ]; then
  echo "== ASan+UBSan unit tests (build-asan/)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFDO_SANITIZE=ON -DFDO_BUILD_BENCH=OFF "${launcher[@]}" \
    >/dev/null
  # Only the binaries of the labels run below: the integration tests' tools are exercised by the main pass.
  mapfile -t asan_targets < <(ninja -C build-asan -t targets all | grep -oE '^tests/[^:]+' \
    | grep -vE 'integration|_cli_test' | sort -u)
  ninja -C build-asan -j "$jobs" "${asan_targets[@]}"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -L 'unit|fuzz|interop|tpm' --timeout 600
fi

if [ "$fuzz" = 0 ]; then
  echo "== bounded fuzzing (build-fuzz/)"
  ./scripts/fuzz.sh "${FDO_FUZZ_SECONDS:-10}"
fi
echo "== all tests passed"
