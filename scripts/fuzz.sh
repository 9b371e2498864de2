#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-DFDO_FUZZ=ON, ASan + UBSan) and runs each one for a
# bounded time over a scratch copy of its seed corpus (libfdo/fuzz/corpus/<name>/, never modified).
# Exits non-zero if any target reports a finding; crashing inputs are kept in build-fuzz/findings/.
#
#   scripts/fuzz.sh [seconds per target, default 10] [target name...]
#
# Environment: FDO_FUZZ_BUILD_DIR (default <repo>/build-fuzz), FDO_FUZZ_JOBS (build jobs, default 2).
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
generator=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "$build/CMakeCache.txt" ]; then
  generator=(-G Ninja)
fi

CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" \
  -DFDO_FUZZ=ON -DFDO_BUILD_TESTS=OFF -DFDO_BUILD_BENCH=OFF >/dev/null
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
failed=()
for name in "${targets[@]}"; do
  bin="$build/bin/fuzz_$name"
  if [ ! -x "$bin" ]; then
    echo "fuzz.sh: no such target: $name" >&2
    failed+=("$name")
    continue
  fi
  corpus="$scratch/$name"
  findings="$build/findings/$name"
  mkdir -p "$corpus" "$findings"
  if [ -d "$root/libfdo/fuzz/corpus/$name" ]; then
    cp -R "$root/libfdo/fuzz/corpus/$name/." "$corpus/"
  fi
  echo "== fuzz_$name: ${seconds}s over $(find "$corpus" -type f | wc -l) seed inputs"
  # ASan's quarantine of freed memory (256 MB by default) and its allocation stacks are what grow a fuzzer's RSS
  # over a long run, not the targets (docs/security.md "Fuzzing"): a small quarantine keeps RSS flat, so that the
  # 1 GiB limit catches a real leak or an unbounded allocation.
  if ! ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=5}" \
      "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
      -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" 2>"$scratch/$name.log"; then
    tail -n 60 "$scratch/$name.log" >&2
    echo "fuzz.sh: fuzz_$name reported a finding; inputs in $findings/" >&2
    failed+=("$name")
  else
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^Done' "$scratch/$name.log" || true
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ran ${seconds}s each without a finding"
