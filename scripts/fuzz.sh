#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time (FUZZ_SECONDS, default 30)
# over its seed corpus, after replaying the crashes found before
# (fuzz/regressions/<target>-*). Needs the fuzz preset built (clang).
# Exits non-zero if any target crashes; the crashing input is kept in
# build-fuzz/artifacts/ — copy it to fuzz/regressions/ to keep it tested.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
bin=build-fuzz/fuzz
work=build-fuzz/corpus
mkdir -p build-fuzz/artifacts "$work"

run_one() {
  local target=$1
  [ -x "$bin/$target" ] || { echo "fuzz: $bin/$target is not built: is it in fuzz/CMakeLists.txt?" >&2; return 1; }
  local regressions=(fuzz/regressions/"$target"-*)
  if [ -e "${regressions[0]}" ]; then
    "$bin/$target" "${regressions[@]}" >/dev/null 2>&1 || { echo "fuzz: $target fails a regression input" >&2; return 1; }
  fi
  mkdir -p "$work/$target"
  # New inputs go to the work corpus; the seeds in the repo stay as they are.
  if "$bin/$target" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=5 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/artifacts/$target-" "$work/$target" "fuzz/corpus/$target" \
      >"build-fuzz/$target.log" 2>&1; then
    echo "fuzz: $target ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/$target.log" | grep -o '[0-9]*$') runs in ${seconds}s)"
  else
    echo "fuzz: $target FOUND A CRASH; see build-fuzz/$target.log and build-fuzz/artifacts/" >&2
    tail -30 "build-fuzz/$target.log" >&2
    return 1
  fi
}

# Every fuzz/*_fuzz.cpp, so a new target cannot be left out.
targets=()
for source in fuzz/*_fuzz.cpp; do targets+=("$(basename "$source" .cpp)"); done
status=0
# Two at a time: one per core.
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  for t in "${targets[@]:i:2}"; do
    run_one "$t" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
done
exit $status
