#!/usr/bin/env bash
# Runs every libFuzzer target of a CUSTSYNC_FUZZ build for a short while,
# starting from its corpus (tests/fuzz/corpus/NAME, which is only read):
#   bash tests/fuzz/smoke.sh BUILD_DIR [SECONDS]
# Fails on the first target that finds a crash, a leak, a sanitizer
# report or a timeout; the input that did it is kept in
# BUILD_DIR/fuzz-artifacts/ and its log tail is printed.
set -euo pipefail
build=${1:?usage: smoke.sh BUILD_DIR [SECONDS]}
seconds=${2:-20}
src=$(cd "$(dirname "$0")" && pwd)
art="$build/fuzz-artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$art"
shopt -s nullglob
bins=("$build"/tests/fuzz/fuzz_*)
if [ ${#bins[@]} -eq 0 ]; then
  echo "smoke.sh: no fuzz targets in $build/tests/fuzz" >&2
  exit 1
fi
for bin in "${bins[@]}"; do
  name=${bin##*/fuzz_}
  mkdir -p "$work/$name"
  log="$art/$name.log"
  start=$SECONDS
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$art/$name-" \
       "$work/$name" "$src/corpus/$name" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz $name: ${runs:-?} runs in $((SECONDS - start)) s, no crash"
  else
    echo "fuzz $name: FAILED (log $log)" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
done
