#!/usr/bin/env bash
# `cfl export` of a 2,000-page space from `cfl sim` (Cloud flavour: REST v1 content paths answer
# 410, so the export runs on v2) with 50 ms of latency on every request and a per-credential
# rate limit (429 beyond it), against a sequential page-by-page export in the same run:
# `cfl export --concurrency 1` (one request at a time: the listing, then each changed page's
# attachment list and attachments). Every round exports into a fresh directory (a full export).
# For the request count of a REST v1 export, the same seed is exported once from the Data
# Center flavour (which serves v1: 100 pages a listing request, then one request per body).
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
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

cargo build --release -q -p cfl
CFL=$PWD/target/release/cfl

# sim FLAVOR NAME: starts a simulator (in this shell, so the trap can stop it); its base URL
# goes to $WORK/NAME.url.
sim() {
  local flavor=$1 name=$2
  cat > "$WORK/$name.toml" <<TOML
flavor = "$flavor"
anonymous_access = false
[[users]]
name = "alice"
display_name = "Alice Author"
email = "alice@example.com"
password = "alice-pw"
api_tokens = ["ATATT3xFfGF0-classic-alice"]
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
  "$CFL" sim --config "$WORK/$name.toml" --listen 127.0.0.1:0 > "$WORK/$name.out" 2> "$WORK/$name.err" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/$name.out" ] && break; sleep 0.1; done
  head -1 "$WORK/$name.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["base_url"])' > "$WORK/$name.url"
}

sim cloud cloud
sim dc dc
CLOUD=$(cat "$WORK/cloud.url")
DC=$(cat "$WORK/dc.url")
export CFL_CONFIG_DIR="$WORK/cfg" HOME="$WORK" NO_PROXY=127.0.0.1
echo "ATATT3xFfGF0-classic-alice" | "$CFL" auth login --insecure-storage --profile cloud --site "$CLOUD" \
  --deployment cloud --method api-token --email alice@example.com --token-stdin >/dev/null 2>&1
echo "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=" | "$CFL" auth login --insecure-storage --profile dc \
  --site "$DC" --method pat --token-stdin >/dev/null 2>&1

# One full export; prints "seconds requests throttled failed pages".
run() {
  local profile=$1 conc=$2 dir="$WORK/out-$RANDOM$RANDOM"
  local start end
  start=$(date +%s.%N)
  "$CFL" export DEV --profile "$profile" --out "$dir" --concurrency "$conc" > /dev/null 2> "$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  end=$(date +%s.%N)
  local s; s=$(grep '^summary ' "$WORK/err")
  local get; get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $s"; }
  echo "$(python3 -c "print(round($end - $start, 3))") $(get requests) $(get throttled) $(get failed) $(get pages)"
  rm -rf "$dir"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: > "$WORK/conc"; : > "$WORK/seq"
for r in $(seq "$ROUNDS"); do
  run cloud "$CONCURRENCY" | tee -a "$WORK/conc" | sed "s/^/concurrent round $r: /" >&2
  if [ "$r" -le "$SEQ_ROUNDS" ]; then
    run cloud 1 | tee -a "$WORK/seq" | sed "s/^/sequential round $r: /" >&2
  fi
done
V1=$(run dc "$CONCURRENCY")
echo "v1 (Data Center) round: $V1" >&2
GONE=$(curl -s "$CLOUD/__sim/requests?status=410" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
C=$(cut -d' ' -f1 "$WORK/conc" | median)
S=$(cut -d' ' -f1 "$WORK/seq" | median)
FAILED=$(cat "$WORK/conc" "$WORK/seq" | awk '{f+=$4} END {print f}')
THROTTLED=$(awk '{t+=$3} END {print t}' "$WORK/conc")
PAGES_SEEN=$(head -1 "$WORK/conc" | cut -d' ' -f5)
REQS=$(head -1 "$WORK/conc" | cut -d' ' -f2)
printf 'pages %s, latency %s ms, rate limit %s req/s per credential\n' "$PAGES_SEEN" "$LATENCY_MS" "$RATE"
printf 'requests per export: Cloud v2 %s; REST v1 (Data Center, same seed) %s\n' "$REQS" "$(cut -d' ' -f2 <<<"$V1")"
printf 'sequential (--concurrency 1): median %.2f s over %s round(s)\n' "$S" "$(wc -l < "$WORK/seq")"
printf 'cfl export (adaptive, max %s): median %.2f s over %s round(s)\n' "$CONCURRENCY" "$C" "$ROUNDS"
printf 'speed-up: %.1fx; 429s absorbed by the concurrent runs: %s; failed pages: %s; Cloud requests answered 410: %s\n' \
  "$(python3 -c "print($S / $C)")" "$THROTTLED" "$FAILED" "$GONE"
