#!/usr/bin/env bash
# Where a gateway thread's CPU goes under load: perf on one thread of `cfl serve` in the scenario
# of bench/gateway.sh (bench/gateway-scenario.sh: bound token, five restriction rules, SQLite audit
# with durability "process") while wrk drives it, then the top symbols and, for the hottest
# leaves (allocation, copies), which callers they come from. Not a benchmark (no baseline): it tells what to try next, and
# bench/gateway.sh then measures whether it helped.
#
#   THREAD=main SECONDS_=4 bash bench/profile-gateway.sh
#
# THREAD: main (the runtime), cfl-audit-store, or sqlx-sqlite-wor. CFL=path/to/cfl profiles
# another build; symbols and line tables need a build like
#   CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none \
#   cargo build --release -p cfl --target-dir /tmp/prof-target
# Needs nginx, wrk and perf (Debian: nginx-light wrk linux-perf).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/gateway-scenario.sh
THREAD=${THREAD:-main}
SECONDS_=${SECONDS_:-4}
CFL=${CFL:-target/release/cfl}
for tool in nginx wrk perf; do
  command -v $tool >/dev/null || { echo "needs $tool (Debian: nginx-light wrk linux-perf)"; exit 1; }
done

work=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
UP=18291 GW_PORT=18292
upstream_nginx_conf "$work" "$UP" > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" &
gateway_toml "127.0.0.1:$GW_PORT" "http://127.0.0.1:$UP" 1 "sqlite:$work/gateway.sqlite" > "$work/gateway.toml"
"$CFL" serve --config "$work/gateway.toml" > "$work/gw.out" 2> "$work/gw.err" &
gw=$!
for _ in $(seq 100); do grep -q base_url "$work/gw.out" 2>/dev/null && break; sleep 0.1; done
add_token "http://127.0.0.1:$GW_PORT"
URL="http://127.0.0.1:$GW_PORT$PATH_"
wrk -t2 -c32 -d1s -H "$AUTH" "$URL" >/dev/null # warm-up: connections, token cache

tid=$gw
if [ "$THREAD" != main ]; then
  tid=$(grep -l "^$THREAD\$" /proc/$gw/task/*/comm | head -1 | cut -d/ -f5)
  [ -n "$tid" ] || { echo "no thread named $THREAD in the gateway"; exit 1; }
fi
perf record -q --call-graph dwarf,16384 -t "$tid" -o "$work/perf.data" -- sleep "$SECONDS_" 2>/dev/null &
perf_pid=$!
wrk -t2 -c32 -d"$((SECONDS_ + 1))s" -H "$AUTH" "$URL" | grep -E "Requests/sec"
wait $perf_pid || true

echo "== $THREAD: shares by library"
perf report -i "$work/perf.data" --no-children --sort dso -g none 2>/dev/null | grep '%' | head -8
echo "== $THREAD: top symbols (self)"
perf report -i "$work/perf.data" --no-children --sort symbol -g none --percent-limit 0.7 2>/dev/null |
  grep '%' | sed 's/  */ /g' | cut -c1-140 | head -30
echo "== $THREAD: callers of allocation and copies (first two frames outside them)"
perf script -i "$work/perf.data" -F ip,sym 2>/dev/null | python3 -c '
import collections, re, sys
stacks = [[re.sub(r"^[0-9a-f]+ ", "", l.strip()) for l in s.split("\n") if l.strip()]
          for s in sys.stdin.read().split("\n\n")]
stacks = [s for s in stacks if s]
inner = ("mi_", "memcpy", "memmove", "alloc::", "__rust", "RawVec", "Vec<", "Box<", "[unknown]",
         "core::ptr", "clone", "Clone", "(inlined)")
for leaf in ("mi_", "memcpy", "memmove"):
    hits = [s for s in stacks if leaf in s[0]]
    if not hits:
        continue
    print(f"{leaf}: {100 * len(hits) / len(stacks):.1f}% of samples")
    callers = collections.Counter(
        " <- ".join(f[:90] for f in [f for f in s[1:] if not any(x in f for x in inner)][:2])
        for s in hits)
    for key, n in callers.most_common(12):
        print(f"  {100 * n / len(stacks):5.2f}%  {key}")
'
