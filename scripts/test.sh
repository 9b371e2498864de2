#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, and runs the whole test suite (ctest),
# then the unit tests again under ASan+UBSan, then each fuzz target for a few seconds.
# Exits non-zero on any failure. What each phase does and how long it takes: docs/style.md §11 "The CI run".
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

# phase NAME: ends the running phase (its wall time goes to the summary printed at the end) and starts NAME.
phase_names=()
phase_times=()
phase_start=$SECONDS
phase() {
  if [ "${#phase_names[@]}" -gt 0 ]; then
    phase_times+=($((SECONDS - phase_start)))
  fi
  phase_names+=("$1")
  phase_start=$SECONDS
}
phase setup
jobs=$(nproc)
./scripts/setup.sh
# ccache, when the machine has it, makes a rebuild after a small change quick; it is not required.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi

phase "release build"
echo "== build (build/, Release: the way a user builds it, warnings as errors)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
ninja -C build -j "$jobs"

# One clang build directory serves the ASan+UBSan pass and the fuzzing pass (cmake/sanitize.cmake): libfdo is
# compiled once with ASan, UBSan (no recovery) and libFuzzer's coverage hooks, at -O1 with line tables, the usual
# sanitizer setting. It builds in the background, at the lowest priority, while the main tests and the demo run:
# they spend much of their time waiting on sockets and child processes, and the build takes only the idle CPU.
sanitize_dir=build-sanitize
sanitize_targets=()
if [ "$sanitize" = 0 ] || [ "$fuzz" = 0 ]; then
  CC=clang CXX=clang++ cmake -S . -B "$sanitize_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_C_FLAGS_DEBUG=-O1 -gline-tables-only" "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" \
    -DFDO_FUZZ=ON -DFDO_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
  if [ "$sanitize" = 0 ]; then
    # Only the binaries of the labels run below: the integration tests' tools are exercised by the main pass.
    mapfile -t sanitize_targets < <(ninja -C "$sanitize_dir" -t targets all | grep -oE '^tests/[^:]+' \
      | grep -vE 'integration|_cli_test' | sort -u)
  fi
  if [ "$fuzz" = 0 ]; then
    sanitize_targets+=(fuzz_all)
  fi
fi
background_log=$(mktemp)
background_pid=
stop_background() {
  if [ -n "$background_pid" ]; then
    kill "$background_pid" 2>/dev/null || true
    wait "$background_pid" 2>/dev/null || true
  fi
  rm -f "$background_log"
}
trap stop_background EXIT
if [ "${#sanitize_targets[@]}" -gt 0 ]; then
  nice -n 19 ninja -C "$sanitize_dir" -j "$jobs" "${sanitize_targets[@]}" >"$background_log" 2>&1 &
  background_pid=$!
fi

phase "release tests"
echo "== tests (build/)"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600

# The README's demo, run from a fresh clone with nothing beside it, so that a file the repository forgot shows
# up here and not on a user's machine. It reuses the tools just built.
phase demo
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

# The rest of the sanitizer build, now at full speed, then its log.
if [ -n "$background_pid" ]; then
  phase "sanitizer build (rest)"
  echo "== build ($sanitize_dir/: clang, ASan+UBSan, fuzz targets)"
  background_status=0
  wait "$background_pid" || background_status=$?
  background_pid=
  cat "$background_log"
  if [ "$background_status" != 0 ]; then
    echo "FAILED: the build in $sanitize_dir/" >&2
    exit 1
  fi
fi

if [ "$sanitize" = 0 ]; then
  phase "sanitizer tests"
  echo "== ASan+UBSan unit tests ($sanitize_dir/)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$sanitize_dir" --output-on-failure -j "$jobs" -L 'unit|fuzz|interop|tpm' --timeout 600
fi

if [ "$fuzz" = 0 ]; then
  phase fuzzing
  echo "== bounded fuzzing ($sanitize_dir/)"
  FDO_FUZZ_BUILD_DIR="$sanitize_dir" FDO_FUZZ_JOBS="$jobs" ./scripts/fuzz.sh "${FDO_FUZZ_SECONDS:-10}"
fi
phase end
echo "== all tests passed"
for i in "${!phase_times[@]}"; do
  printf '%6ds  %s\n' "${phase_times[$i]}" "${phase_names[$i]}"
done
printf '%6ds  total\n' "$SECONDS"
