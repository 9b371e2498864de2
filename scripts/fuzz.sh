#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-DFDO_FUZZ=ON, ASan + UBSan) and runs each one for a
# bounded time over a scratch copy of its seed corpus (libfdo/fuzz/corpus/<name>/, never modified).
# Exits non-zero if any target reports a finding; crashing inputs are kept in <build dir>/findings/.
#
#   scripts/fuzz.sh [seconds per target, default 10] [target name...]
#
# Environment: FDO_FUZZ_BUILD_DIR (default <repo>/build-fuzz; an existing FDO_FUZZ=ON build directory keeps its own
# options, such as scripts/test.sh's build-sanitize/ with the tests on), FDO_FUZZ_JOBS (build jobs, and how many
# targets fuzz at once, default 2).
set -euo pipefail

seconds="${1:-10}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: $0 [seconds per target] [target name...]" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FDO_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${FDO_FUZZ_JOBS:-2}"
if ! [[ "$jobs" =~ ^[0-9]+$ ]] || [ "$jobs" -eq 0 ]; then
  echo "fuzz.sh: FDO_FUZZ_JOBS must be a positive number" >&2
  exit 2
fi
config=()
if [ ! -f "$build/CMakeCache.txt" ]; then
  config=(-DFDO_FUZZ=ON -DFDO_BUILD_TESTS=OFF -DFDO_BUILD_BENCH=OFF)
  if command -v ninja >/dev/null 2>&1; then
    config+=(-G Ninja)
  fi
  if command -v ccache >/dev/null 2>&1; then
    config+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
fi

CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${config[@]}" >/dev/null
if ! grep -q '^FDO_FUZZ:BOOL=ON$' "$build/CMakeCache.txt"; then
  echo "fuzz.sh: $build is not an FDO_FUZZ=ON build directory" >&2
  exit 2
fi
cmake --build "$build" --target fuzz_all -j "$jobs"

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for bin in "$build"/bin/fuzz_*; do
    if [ -x "$bin" ]; then
      targets+=("$(basename "$bin")")
    fi
  done
  targets=("${targets[@]#fuzz_}")
fi
if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets were built" >&2
  exit 1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# fuzz_one NAME: one bounded run; its report goes to $scratch/NAME.out, its status to $scratch/NAME.status.
fuzz_one() {
  local name="$1" bin="$build/bin/fuzz_$1" corpus="$scratch/$1" findings="$build/findings/$1"
  local out="$scratch/$name.out"
  if [ ! -x "$bin" ]; then
    echo "fuzz.sh: no such target: $name" >"$out"
    echo 1 >"$scratch/$name.status"
    return
  fi
  mkdir -p "$corpus" "$findings"
  if [ -d "$root/libfdo/fuzz/corpus/$name" ]; then
    cp -R "$root/libfdo/fuzz/corpus/$name/." "$corpus/"
  fi
  echo "== fuzz_$name: ${seconds}s over $(find "$corpus" -type f | wc -l) seed inputs" >"$out"
  # ASan's quarantine of freed memory (256 MB by default) and its allocation stacks are what grow a fuzzer's RSS
  # over a long run, not the targets (docs/security.md "Fuzzing"): a small quarantine keeps RSS flat, so that the
  # 1 GiB limit catches a real leak or an unbounded allocation.
  if ! ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=5}" \
      "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
      -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" 2>"$scratch/$name.log"; then
    tail -n 60 "$scratch/$name.log" >>"$out"
    echo "fuzz.sh: fuzz_$name reported a finding; inputs in $findings/" >>"$out"
    echo 1 >"$scratch/$name.status"
  else
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^Done' "$scratch/$name.log" >>"$out" || true
    echo 0 >"$scratch/$name.status"
  fi
}

# The targets run FDO_FUZZ_JOBS at a time, each for its full time on its own core; reports print in target order.
failed=()
for ((first = 0; first < ${#targets[@]}; first += jobs)); do
  batch=("${targets[@]:first:jobs}")
  for name in "${batch[@]}"; do
    fuzz_one "$name" &
  done
  wait
  for name in "${batch[@]}"; do
    if [ "$(cat "$scratch/$name.status" 2>/dev/null)" = 0 ]; then
      cat "$scratch/$name.out"
    else
      cat "$scratch/$name.out" >&2 2>/dev/null || echo "fuzz.sh: fuzz_$name did not run" >&2
      failed+=("$name")
    fi
  done
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ran ${seconds}s each without a finding"
