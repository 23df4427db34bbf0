#!/usr/bin/env bash
# `cfl publish DIR` of a 200-file tree (10 directories of 19 pages plus their index files,
# links between neighbours, 4 images) to `cfl sim`, Data Center and Cloud flavours, with
# LATENCY_MS of latency on every request: a full publish (every page created), a second
# publish with nothing changed, then 5 files edited and published again. Request counts come
# from the simulator's request log (`/__sim/requests`), split into reads and writes.
#
#   LATENCY_MS=20 bash bench/publish.sh
#   CFL=target/debug/cfl bash bench/publish.sh     # skip the release build
#
# Prints, per flavour, the wall time and requests (GET / writes) of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
LATENCY_MS=${LATENCY_MS:-20}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

if [ -z "${CFL:-}" ]; then
  cargo build --release -q -p cfl
  CFL=$PWD/target/release/cfl
fi
CFL=$(realpath "$CFL")

# sim FLAVOR: starts a simulator (in this shell, so the trap can stop it); its base URL goes to
# $WORK/FLAVOR.url.
sim() {
  local flavor=$1
  cat > "$WORK/$flavor.toml" <<TOML
flavor = "$flavor"
anonymous_access = false
[[users]]
name = "alice"
display_name = "Alice Author"
email = "alice@example.com"
password = "alice-pw"
api_tokens = ["ATATT3xFfGF0-classic-alice"]
pats = [{ name = "bench", token = "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=" }]
[latency]
ms = $LATENCY_MS
[seed]
spaces = 1
pages_per_space = 20
TOML
  "$CFL" sim --config "$WORK/$flavor.toml" --listen 127.0.0.1:0 > "$WORK/$flavor.out" 2> "$WORK/$flavor.err" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/$flavor.out" ] && break; sleep 0.1; done
  head -1 "$WORK/$flavor.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["base_url"])' > "$WORK/$flavor.url"
}

# tree DIR: 200 Markdown files.
tree() {
  local root=$1
  mkdir -p "$root"
  printf '# Bench docs\n\nThe root.\n' > "$root/index.md"
  for d in $(seq -w 1 10); do
    mkdir -p "$root/part-$d/img"
    printf '# Part %s\n\nSection %s.\n' "$d" "$d" > "$root/part-$d/index.md"
    for f in $(seq -w 1 19); do
      next=$(printf '%02d' $(( (10#$f % 19) + 1 )))
      printf '# Page %s-%s\n\nSee [the next page](page-%s.md) and [part one](../part-01/index.md).\n\n```sh\necho %s\n```\n' \
        "$d" "$f" "$next" "$f" > "$root/part-$d/page-$f.md"
    done
  done
  for d in 01 02 03 04; do
    head -c 2048 /dev/urandom > "$WORK/img-$d.png"
    cp "$WORK/img-$d.png" "$root/part-$d/img/chart.png"
    printf '\n![chart](img/chart.png)\n' >> "$root/part-$d/page-01.md"
  done
}

# counts FLAVOR: "reads writes" in the request log since it was cleared.
counts() {
  curl -s "$(cat "$WORK/$1.url")/__sim/requests" | python3 -c '
import json, sys
r = json.load(sys.stdin)["requests"]
print(sum(1 for x in r if x["method"] == "GET"), sum(1 for x in r if x["method"] != "GET"))'
}

# run FLAVOR LABEL: one publish; prints "LABEL seconds reads writes".
run() {
  local flavor=$1 label=$2 start end
  curl -s -X DELETE "$(cat "$WORK/$flavor.url")/__sim/requests" > /dev/null
  start=$(date +%s.%N)
  "$CFL" publish "$WORK/docs-$flavor" --space DEV --parent 'Bench docs' --profile "$flavor" \
    > "$WORK/$flavor-$label.out" 2> "$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  end=$(date +%s.%N)
  printf '%s: %-12s %6.2f s  %s\n' "$flavor" "$label" "$(python3 -c "print($end - $start)")" \
    "$(counts "$flavor" | awk '{printf "%4d requests (%d GET, %d writes)", $1 + $2, $1, $2}')"
}

sim dc
sim cloud
export CFL_CONFIG_DIR="$WORK/cfg" HOME="$WORK" NO_PROXY=127.0.0.1
echo "ATATT3xFfGF0-classic-alice" | "$CFL" auth login --insecure-storage --profile cloud \
  --site "$(cat "$WORK/cloud.url")" --deployment cloud --method api-token \
  --email alice@example.com --token-stdin >/dev/null 2>&1
echo "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=" | "$CFL" auth login --insecure-storage \
  --profile dc --site "$(cat "$WORK/dc.url")" --method pat --token-stdin >/dev/null 2>&1

for flavor in dc cloud; do
  tree "$WORK/docs-$flavor"
  echo "$flavor: $(find "$WORK/docs-$flavor" -name '*.md' | wc -l) Markdown files, latency $LATENCY_MS ms"
  run "$flavor" full
  run "$flavor" unchanged
  for f in 03 07; do printf '\nEdited.\n' >> "$WORK/docs-$flavor/part-$f/page-05.md"; done
  for f in 02 05 09; do printf '\nEdited too.\n' >> "$WORK/docs-$flavor/part-$f/page-11.md"; done
  run "$flavor" "5-changed"
  grep -c '^updated' "$WORK/$flavor-5-changed.out" | sed "s/^/$flavor: pages updated by the incremental run: /"
done
