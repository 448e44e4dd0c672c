#!/usr/bin/env bash
# Coverage-guided fuzzing of the native parsers (libFuzzer with AddressSanitizer and UBSan), not part of CI.
# Builds each target into bench/fuzz/out (git-ignored), makes a seed corpus from generated Criteo lines, and
# runs the targets one at a time for SECONDS each (default 600); a summary line per target at the end.
# Needs Debian's clang-14 and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes are in the latter).
#   bench/fuzz/run.sh [SECONDS] [TARGET...]      TARGET: criteo keys line-ends scan (default: all)
set -euo pipefail
seconds=${1:-600}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/out"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(criteo keys line-ends scan)
cxx=${CXX:-clang++-14}
# Short inputs reach the paths that real sizes take: the running key totals start small (so they grow), and a
# parse of more than 256 bytes is split over the pool's threads.
flags=(-std=c++20 -O2 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -DHOTLINE_COUNTS_INITIAL=4 -DHOTLINE_PARSE_PART_BYTES=256 -I"$root/native")
declare -A units=([criteo]=criteo.cc [keys]=criteo.cc [line-ends]=criteo.cc [scan]=scan.cc)

mkdir -p "$out"
(cd "$root" && node --import tsx bench/fuzz/seeds.ts "$out/seeds")
for t in "${targets[@]}"; do
  "$cxx" "${flags[@]}" "$root/native/${units[$t]}" "$root/native/pool.cc" "$here/$t.cc" -o "$out/$t"
done

summary=()
for t in "${targets[@]}"; do
  work="$out/$t.run"
  mkdir -p "$work" "$out/corpus/$t"
  dict=()
  [ "$t" = criteo ] && dict=(-dict="$here/criteo.dict")
  echo "== $t: $seconds s"
  # -jobs=1 -workers=1: one fuzzing process, its log in $work/fuzz-0.log; a finding ends the run.
  (cd "$work" && "$out/$t" -max_total_time="$seconds" -timeout=10 -jobs=1 -workers=1 -print_final_stats=1 \
    -artifact_prefix="$out/finding-$t-" "${dict[@]}" "$out/corpus/$t" "$out/seeds/$t" >/dev/null 2>&1) || true
  cp "$work/fuzz-0.log" "$out/$t.log"
  last=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -1)
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$out/$t.log" | grep -oE '[0-9]+$' || echo "${last%% *}")
  findings=$(ls "$out" | grep -c "^finding-$t-" || true)
  summary+=("$t: executions ${execs#\#}, $(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last"), findings $findings")
done
printf '%s\n' "${summary[@]}"
