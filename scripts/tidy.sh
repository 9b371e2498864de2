#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) over our sources using build/compile_commands.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/compile_commands.json ] || cmake -S . -B build -G Ninja >/dev/null
files=$(git ls-files '*.cpp' | grep -v '_test.cpp$' | grep -v '^libfdo/fuzz/')
run-clang-tidy -quiet -p build $files
