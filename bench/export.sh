#!/usr/bin/env bash
# `cfl export` of a 2,000-page space from `cfl sim` (Data Center flavour) with 50 ms of latency
# on every request and a per-credential rate limit, against a sequential page-by-page export in
# the same run: `cfl export --concurrency 1` (one request at a time: the listing, then each page's
# body, then its attachments). Every round exports into a fresh directory (a full export).
#
#   ROUNDS=3 SEQ_ROUNDS=1 PAGES=2000 LATENCY_MS=50 RATE=300 bash bench/export.sh
#
# Prints the median seconds of each, the ratio, and cfl's own count of requests, 429s answered
# by the simulator and failed pages (must be 0).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SEQ_ROUNDS=${SEQ_ROUNDS:-1}
PAGES=${PAGES:-2000}
LATENCY_MS=${LATENCY_MS:-50}
RATE=${RATE:-300}
CONCURRENCY=${CONCURRENCY:-32}
WORK=$(mktemp -d)
SIM_PID=
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

cargo build --release -q
CFL=$PWD/target/release/cfl

cat > "$WORK/sim.toml" <<TOML
flavor = "dc"
anonymous_access = false
[[users]]
name = "alice"
display_name = "Alice Author"
email = "alice@example.com"
password = "alice-pw"
pats = [{ name = "bench", token = "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=" }]
[rate_limit]
requests = $RATE
interval_seconds = 1
[latency]
ms = $LATENCY_MS
[seed]
spaces = 1
pages_per_space = $PAGES
attachment_every = 4
labels = ["howto"]
fanout = 5
TOML
"$CFL" sim --config "$WORK/sim.toml" --listen 127.0.0.1:0 > "$WORK/sim.out" 2> "$WORK/sim.err" &
SIM_PID=$!
for _ in $(seq 100); do [ -s "$WORK/sim.out" ] && break; sleep 0.1; done
BASE=$(head -1 "$WORK/sim.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["base_url"])')
export CFL_CONFIG_DIR="$WORK/cfg" HOME="$WORK" NO_PROXY=127.0.0.1
echo "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=" \
  | "$CFL" auth login --insecure-storage --site "$BASE" --method pat --token-stdin >/dev/null 2>&1

# One full export; prints "seconds requests throttled failed pages".
run() {
  local conc=$1 dir="$WORK/out-$RANDOM$RANDOM"
  local start end
  start=$(date +%s.%N)
  "$CFL" export DEV --out "$dir" --concurrency "$conc" > /dev/null 2> "$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  end=$(date +%s.%N)
  local s; s=$(grep '^summary ' "$WORK/err")
  local get; get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $s"; }
  echo "$(python3 -c "print(round($end - $start, 3))") $(get requests) $(get throttled) $(get failed) $(get pages)"
  rm -rf "$dir"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: > "$WORK/conc"; : > "$WORK/seq"
for r in $(seq "$ROUNDS"); do
  run "$CONCURRENCY" | tee -a "$WORK/conc" | sed "s/^/concurrent round $r: /" >&2
  if [ "$r" -le "$SEQ_ROUNDS" ]; then
    run 1 | tee -a "$WORK/seq" | sed "s/^/sequential round $r: /" >&2
  fi
done
C=$(cut -d' ' -f1 "$WORK/conc" | median)
S=$(cut -d' ' -f1 "$WORK/seq" | median)
FAILED=$(cat "$WORK/conc" "$WORK/seq" | awk '{f+=$4} END {print f}')
THROTTLED=$(awk '{t+=$3} END {print t}' "$WORK/conc")
PAGES_SEEN=$(head -1 "$WORK/conc" | cut -d' ' -f5)
REQS=$(head -1 "$WORK/conc" | cut -d' ' -f2)
printf 'pages %s, requests per export %s, latency %s ms, rate limit %s req/s\n' "$PAGES_SEEN" "$REQS" "$LATENCY_MS" "$RATE"
printf 'sequential (--concurrency 1): median %.2f s over %s round(s)\n' "$S" "$(wc -l < "$WORK/seq")"
printf 'cfl export (adaptive, max %s): median %.2f s over %s round(s)\n' "$CONCURRENCY" "$C" "$ROUNDS"
printf 'speed-up: %.1fx; 429s absorbed by the concurrent runs: %s; failed pages: %s\n' "$(python3 -c "print($S / $C)")" "$THROTTLED" "$FAILED"
