#!/usr/bin/env bash
# The repository stands alone: no tracked file may read, link or cite a path outside the tree (the digests and
# lists a developer reads beside it, or any absolute path of a developer's machine). Run by ctest as
# `repository_stands_alone`; prints each offending line and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files)
else
  mapfile -t files < <(find . -type f -not -path './build*' -not -path './.git/*' | sed 's|^\./||')
fi

# Outside paths and the outside documents by name: the spec digests (cited as FDO 1.1 sections instead),
# the conformance list and the interop pitfall list (docs/conformance.md and docs/interop.md are ours).
patterns=(
  '\.\./shared'
  '(^|[^a-z])shared/(spec|interop|hooks)'
  'conformance-checklist'
  'pitfalls\.md'
  'pitfalls? P[0-9]'
  '(^|[^/a-z])(messages|transport|crypto|serviceinfo|tpm)\.md'
  '(^|[^/a-z])voucher\.md §'
  'STYLE\.md'
  'CLI\.md'
  '/work/'
)
regex=$(IFS='|'; echo "${patterns[*]}")

found=0
for f in "${files[@]}"; do
  [ "$f" = scripts/check-self-contained.sh ] && continue
  [ -f "$f" ] || continue
  if grep -nIE "$regex" "$f" >/tmp/stands-alone.$$ 2>/dev/null; then
    sed "s|^|$f:|" /tmp/stands-alone.$$
    found=1
  fi
done
rm -f /tmp/stands-alone.$$
if [ "$found" = 1 ]; then
  echo "FAILED: the lines above refer to files outside the repository; cite the FDO 1.1 section or our own docs" >&2
  exit 1
fi
echo "${#files[@]} tracked files: no reference outside the repository"
