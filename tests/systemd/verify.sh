#!/usr/bin/env bash
# systemd-analyze verify and security on the unit, with ExecStart pointed
# at the built binary (verify checks that the command exists).
set -euo pipefail
src=$1 bin=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unit="$tmp/custsync@check.service"
sed "s#/usr/bin/custsync#$bin#g" "$src/systemd/custsync@.service" >"$unit"
out=$(systemd-analyze verify "$unit" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
  echo "systemd-analyze verify complained:"; echo "$out"; exit 1
fi
score=$(systemd-analyze security --offline=true "$unit" 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "exposure: ${score:-?}"
[ -n "$score" ] || exit 1
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
  { echo "exposure $score is above 2.0"; exit 1; }
echo "verify and security OK"
