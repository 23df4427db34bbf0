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
#
#   BASE=<commit> ROUNDS=3 SEQ_ROUNDS=1 bash bench/export.sh
#
# With BASE, the client of this working tree is compared with the client of BASE in one run:
# BASE is checked out detached in target/bench-export-base/tree and built into
# target/bench-export-base (both kept, so a rerun rebuilds only what changed), and every round
# runs both clients, in alternating order, against the same simulators (this tree's `cfl sim`,
# so only the client differs). Prints each side's medians, spread and the ratio this/base, with
# each side's requests, 429s and failed pages.
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

BASE=${BASE:-}
cargo build --release -q -p cfl
CFL=$PWD/target/release/cfl
if [ -n "$BASE" ]; then
  # Resolved here, so that BASE=HEAD~1 means this tree's HEAD~1, not the base checkout's.
  BASE_REV=$(git rev-parse --verify "$BASE^{commit}")
  BASE_TARGET=$PWD/target/bench-export-base
  BASE_TREE=$BASE_TARGET/tree
  git worktree prune
  if [ -e "$BASE_TREE/.git" ]; then
    git -C "$BASE_TREE" checkout -q --detach "$BASE_REV"
  else
    rm -rf "$BASE_TREE"
    git worktree add -q --detach "$BASE_TREE" "$BASE_REV"
  fi
  (cd "$BASE_TREE" && cargo build --release -q -p cfl --target-dir "$BASE_TARGET")
  CFL_BASE=$BASE_TARGET/release/cfl
fi

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
export HOME="$WORK" NO_PROXY=127.0.0.1
# login BINARY CONFIG_DIR: both profiles, with that binary, in its own configuration directory.
login() {
  echo "ATATT3xFfGF0-classic-alice" | CFL_CONFIG_DIR="$2" "$1" auth login --insecure-storage --profile cloud \
    --site "$CLOUD" --deployment cloud --method api-token --email alice@example.com --token-stdin >/dev/null 2>&1
  echo "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=" | CFL_CONFIG_DIR="$2" "$1" auth login --insecure-storage \
    --profile dc --site "$DC" --method pat --token-stdin >/dev/null 2>&1
}
export CFL_CONFIG_DIR="$WORK/cfg"
login "$CFL" "$CFL_CONFIG_DIR"
if [ -n "$BASE" ]; then login "$CFL_BASE" "$WORK/cfg-base"; fi

# One full export; prints "seconds requests throttled failed pages".
run() {
  local profile=$1 conc=$2 dir="$WORK/out-$RANDOM$RANDOM"
  local start end
  start=$(date +%s.%N)
  "${RUN_CFL:-$CFL}" export DEV --profile "$profile" --out "$dir" --concurrency "$conc" > /dev/null 2> "$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  end=$(date +%s.%N)
  local s; s=$(grep '^summary ' "$WORK/err")
  local get; get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $s"; }
  echo "$(python3 -c "print(round($end - $start, 3))") $(get requests) $(get throttled) $(get failed) $(get pages)"
  rm -rf "$dir"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# base_mode: every round runs the base client and this tree's, in alternating order; the same
# for the sequential rounds; then one v1 round each.
base_mode() {
  local r side order
  : > "$WORK/conc-base"; : > "$WORK/conc-tree"; : > "$WORK/seq-base"; : > "$WORK/seq-tree"
  side_run() { # side profile concurrency
    if [ "$1" = base ]; then RUN_CFL=$CFL_BASE CFL_CONFIG_DIR=$WORK/cfg-base run "$2" "$3"; else run "$2" "$3"; fi
  }
  for r in $(seq "$ROUNDS"); do
    order="base tree"; [ $((r % 2)) = 0 ] && order="tree base"
    for side in $order; do
      side_run "$side" cloud "$CONCURRENCY" | tee -a "$WORK/conc-$side" | sed "s/^/$side concurrent round $r: /" >&2
    done
    if [ "$r" -le "$SEQ_ROUNDS" ]; then
      for side in $order; do
        side_run "$side" cloud 1 | tee -a "$WORK/seq-$side" | sed "s/^/$side sequential round $r: /" >&2
      done
    fi
  done
  side_run base dc "$CONCURRENCY" > "$WORK/v1-base"
  side_run tree dc "$CONCURRENCY" > "$WORK/v1-tree"
  echo "v1 (Data Center) round: base $(cat "$WORK/v1-base"); tree $(cat "$WORK/v1-tree")" >&2
  local gone; gone=$(curl -s "$CLOUD/__sim/requests?status=410" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
  # stats FILE: "median min max" of the seconds, "min-max" of the requests, 429s and failed summed.
  stats() {
    if [ ! -s "$1" ]; then echo "- - - - 0 0"; return; fi
    echo "$(cut -d' ' -f1 "$1" | median) $(cut -d' ' -f1 "$1" | sort -n | head -1) $(cut -d' ' -f1 "$1" | sort -n | tail -1)" \
      "$(cut -d' ' -f2 "$1" | sort -n | sed -n '1p;$p' | paste -sd- | sed -E 's/^([0-9]+)-\1$/\1/')" \
      "$(awk '{t+=$3} END {print t+0}' "$1")" "$(awk '{f+=$4} END {print f+0}' "$1")"
  }
  local kind label b t
  printf 'pages %s, latency %s ms, rate limit %s req/s per credential\n' "$(head -1 "$WORK/conc-tree" | cut -d' ' -f5)" "$LATENCY_MS" "$RATE"
  printf 'base %s (%s) against this tree (%s%s)\n' "$BASE" "$(git rev-parse --short "$BASE_REV")" \
    "$(git rev-parse --short HEAD)" "$(git diff --quiet HEAD && echo "" || echo ", with uncommitted changes")"
  for kind in conc seq; do
    [ "$kind" = conc ] && label="cfl export (adaptive, max $CONCURRENCY)" || label="sequential (--concurrency 1)"
    read -r bm bmin bmax breq bthr bfail < <(stats "$WORK/$kind-base")
    read -r tm tmin tmax treq tthr tfail < <(stats "$WORK/$kind-tree")
    [ "$bm" = - ] && continue
    printf '%s, %s round(s) each:\n' "$label" "$(wc -l < "$WORK/$kind-tree")"
    printf '  base:      median %.2f s (%.2f-%.2f), requests %s, 429s %s, failed pages %s\n' "$bm" "$bmin" "$bmax" "$breq" "$bthr" "$bfail"
    printf '  this tree: median %.2f s (%.2f-%.2f), requests %s, 429s %s, failed pages %s\n' "$tm" "$tmin" "$tmax" "$treq" "$tthr" "$tfail"
    printf '  ratio this/base (medians): %.3f\n' "$(python3 -c "print($tm / $bm)")"
  done
  b=$(cat "$WORK/v1-base"); t=$(cat "$WORK/v1-tree")
  printf 'REST v1 (Data Center, same seed), 1 round each: base %s s, %s requests, %s failed; this tree %s s, %s requests, %s failed\n' \
    "$(cut -d' ' -f1 <<<"$b")" "$(cut -d' ' -f2 <<<"$b")" "$(cut -d' ' -f4 <<<"$b")" \
    "$(cut -d' ' -f1 <<<"$t")" "$(cut -d' ' -f2 <<<"$t")" "$(cut -d' ' -f4 <<<"$t")"
  printf 'Cloud requests answered 410 (both sides): %s\n' "$gone"
}
if [ -n "$BASE" ]; then base_mode; exit 0; fi

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
