#!/usr/bin/env bash
# Instructions per proxied request, counted rather than timed: the gateway of bench/gateway.sh's
# scenario (bench/gateway-scenario.sh) runs under callgrind while wrk drives it, for this working
# tree and a baseline revision, and the instructions its runtime thread and its audit store thread
# executed are divided by the requests answered. On this VM timings move by a third from one hour
# to the next; these counts repeat to about 1%, so they show a change of a few percent that
# bench/gateway.sh cannot. They count user space only (no kernel, no cache misses), and under
# valgrind sha2 uses its software SHA-256, so hashing weighs more here than on the real CPU.
#
#   BASE=HEAD~1 bash bench/instructions.sh        # tree against HEAD~1
#   TOP=25 BASE=HEAD bash bench/instructions.sh   # and the tree's 25 costliest gateway functions
#                                                 # (runtime thread) and functions (store thread)
#   KEEP=/tmp/cg BASE=HEAD bash bench/instructions.sh  # keeps the callgrind profiles, for
#                                                 # callgrind_annotate KEEP/tree/cg.out.*-01
#
# Needs valgrind, nginx and wrk (Debian: valgrind nginx-light wrk); installs them if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/gateway-scenario.sh
BASE=${BASE:-HEAD}
SECONDS_=${SECONDS_:-4}
TOP=${TOP:-0}
for tool in valgrind nginx wrk; do
  if ! command -v $tool >/dev/null; then
    pkg=$tool; [ $tool = nginx ] && pkg=nginx-light
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get install -y -qq $pkg >/dev/null
  fi
done

work=$(mktemp -d)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then
    for side in base tree; do mkdir -p "$KEEP/$side" && { cp "$work/$side"/cg.out.* "$KEEP/$side/" 2>/dev/null || true; }; done
  fi
  git worktree remove --force "$work/base" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Line tables for the function names; no LTO, so both builds take minutes, not ten.
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none \
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_INCREMENTAL=true
target=${CARGO_TARGET_DIR:-$PWD/target}
build() { # source dir, target dir → the cfl binary built from that tree
  (cd "$1" && cargo build --release -q -p cfl --target-dir "$2")
  echo "$2/release/cfl"
}
git worktree add -q --detach "$work/base" "$BASE"
new=$(build "$PWD" "$target/bench-instructions")
old=$(build "$work/base" "$target/bench-instructions-base")

# Ports: PORTS=N uses N, N+1, N+2 (two runs at once need different ones).
UP=${PORTS:-18591}
upstream_nginx_conf "$work" "$UP" > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" &

count() { # side binary port → "runtime store" instructions per request; profiles in $work/side
  local side=$1 bin=$2 port=$3 dir="$work/$1"
  mkdir -p "$dir"
  gateway_toml "127.0.0.1:$port" "http://127.0.0.1:$UP" 1 "sqlite:$dir/gateway.sqlite" > "$dir/gateway.toml"
  valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes \
    --callgrind-out-file="$dir/cg.out.%p" "$bin" serve --config "$dir/gateway.toml" \
    > "$dir/gw.out" 2> "$dir/gw.err" &
  local vg=$!
  for _ in $(seq 600); do grep -q base_url "$dir/gw.out" 2>/dev/null && break; sleep 0.1; done
  add_token "http://127.0.0.1:$port"
  local url="http://127.0.0.1:$port$PATH_"
  wrk -t1 -c8 -d2s -H "$AUTH" "$url" >/dev/null # warm-up: connections, token cache
  callgrind_control -i on $vg >/dev/null
  local n
  n=$(wrk -t1 -c8 -d"${SECONDS_}s" -H "$AUTH" "$url" | awk '/requests in/ {print $1}')
  sleep 0.3 # the store thread's next batch (every 50 ms)
  callgrind_control -i off $vg >/dev/null
  callgrind_control -d $vg >/dev/null
  kill $vg; wait $vg 2>/dev/null || true
  local runtime=0 store=0 f ir
  for f in "$dir"/cg.out.*.1-*; do
    ir=$(awk '/^totals:/ {print $2}' "$f")
    if grep -q "audit::journal::store_loop" "$f"; then store=$ir; ln -sf "$f" "$dir/store.cg"
    elif grep -q "^thread: 1$" "$f"; then runtime=$ir; fi
  done
  echo "$n $((runtime / n)) $((store / n))"
}

read -r n_old rt_old st_old < <(count base "$old" $((UP + 1)))
read -r n_new rt_new st_new < <(count tree "$new" $((UP + 2)))
echo "instructions per request (user space), base ($BASE) → this tree:"
echo "  runtime thread:     $rt_old → $rt_new  (ratio $(python3 -c "print(f'{$rt_new/$rt_old:.3f}')"))"
echo "  audit store thread: $st_old → $st_new  (ratio $(python3 -c "print(f'{$st_new/$st_old:.3f}')"))"
echo "  requests counted:   $n_old, $n_new (the store thread's count depends a little on its batch sizes)"
if [ "$TOP" -gt 0 ]; then
  echo "this tree's costliest gateway functions on the runtime thread (inclusive, per request):"
  callgrind_annotate --inclusive=yes "$work"/tree/cg.out.*.1-01 2>/dev/null |
    awk -v n="$n_new" '/cfl_gateway::/ {c = $1; gsub(",", "", c); printf "  %8d  %s\n", c / n, substr($0, index($0, ":") + 1)}' |
    sed -E 's/ \[.*\]$//' | head -"$TOP" | cut -c1-150
  echo "and on the audit store thread (exclusive, per request; every library):"
  callgrind_annotate "$work"/tree/store.cg 2>/dev/null |
    awk -v n="$n_new" '/^ *[0-9,]+ .*:/ {c = $1; gsub(",", "", c); if (c / n >= 1) printf "  %8d  %s\n", c / n, substr($0, index($0, ":") + 1)}' |
    sed -E 's/ \[.*\]$//' | head -"$TOP" | cut -c1-150
fi
