#!/usr/bin/env bash
# Runs every coverage-guided fuzz target in fuzz/ for a bounded time and fails on a crash (a
# panic, an overflow with debug assertions, a timeout of one input, or running out of memory).
#
#   bash scripts/fuzz.sh                      # each target 60 s
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh     # longer
#   FUZZ_TARGETS="path_match rule_parse" bash scripts/fuzz.sh
#   FUZZ_SANITIZER=address bash scripts/fuzz.sh   # with ASan (slower; the code is safe Rust)
#
# cargo-fuzz passes nightly-only flags (-Z sanitizer, -C passes=sancov-module…) to rustc; on the
# stable toolchain RUSTC_BOOTSTRAP=1 allows them, so no nightly is needed. Inputs found are kept in
# fuzz/corpus/ (ignored by git); the committed seeds are in fuzz/seeds/; a crashing input is
# written to fuzz/artifacts/<target>/ and its path printed.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-"path_match rule_parse auth_header token_format config_load"}
SANITIZER=${FUZZ_SANITIZER:-none}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cargo fuzz build --sanitizer "$SANITIZER"
total=0
for target in $TARGETS; do
  mkdir -p "corpus/$target"
  log=$(mktemp)
  # -max_len keeps inputs the size of a request target or a config; -timeout flags slow inputs.
  if ! cargo fuzz run --sanitizer "$SANITIZER" "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $target FAILED (the input is in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + runs))
  echo "fuzz: $target: $runs inputs in ${SECONDS_PER_TARGET}s, no crash"
  rm -f "$log"
done
echo "fuzz: $total inputs in total, no crash"
