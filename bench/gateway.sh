#!/usr/bin/env bash
# Gateway overhead on loopback, measured in one run so the ratios are fair:
#   direct  — wrk → a fast upstream (nginx returning a fixed Confluence-like JSON answer)
#   nginx   — wrk → nginx as a plain reverse proxy → upstream (access log off: the goal's row)
#   nginx_log — the same nginx proxying with its default access log (one line written per
#             request, unbuffered), the nearest nginx comes to the gateway's audit log
#   bare    — wrk → hyper alone (crates/gateway/examples/bare_proxy.rs: the gateway's HTTP stack,
#             no checks, no audit) → upstream; the gateway's own cost is its difference to this
#   cfl     — wrk → cfl serve (bound token, 5 restriction rules, audit log on, SQLite,
#             audit.durability = "process") → upstream
#   cfl_full — the same with audit.durability = "power-loss" (fsync before every answer)
#   cfl_pg  — the same gateway on PostgreSQL (scripts/postgres.sh: local, fsync=off)
#   nginx_tls, cfl_tls — nginx and cfl serve (as in `cfl`) with HTTPS on the client side
#             (one self-signed RSA-2048 certificate; the upstream stays plain HTTP)
# The upstream is its own nginx process, apart from the proxying nginx, as Confluence would be: in
# one worker, nginx's proxying skipped the two cross-process wake-ups per request that every other
# proxy here pays (and the saturated rows shared that worker's core between both jobs).
# Each configuration runs ROUNDS times, interleaved; the table shows medians and ratios, and the
# CPU each process spent per request (from /proc/PID/stat), which explains the ratios on a small
# machine where wrk, the upstream and the proxy share the cores; for the gateways also split by thread
# (the runtime, the audit store thread, sqlx's SQLite worker), since that shows which part to work on.
# Every path also runs at a fixed, moderate pace, for the latency the proxy adds (second table).
# NAMES="nginx cfl" runs a subset; CFL=path/to/cfl benchmarks another build; WORKERS sets the
# gateway's threads (default 1, as nginx runs one worker process here).
# Needs nginx, wrk and openssl (Debian: nginx-light wrk openssl); installs them if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/gateway-scenario.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null || ! command -v openssl >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light wrk openssl >/dev/null
fi
CFL=${CFL:-target/release/cfl}  # CFL=path/to/cfl compares another build
[ "$CFL" = target/release/cfl ] && cargo build --release -q -p cfl

work=$(mktemp -d)
pids=()
# Gateways start in a command substitution (a subshell), so their pids come back through files.
cleanup() {
  for p in "${pids[@]}" $(cat "$work"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

UP=18191 PROXY=18192 PROXY_TLS=18194 PROXY_LOG=18195
mkdir "$work/up"
upstream_nginx_conf "$work/up" "$UP" > "$work/up/nginx.conf"
nginx -c "$work/up/nginx.conf" -p "$work/up" & pids+=($!)
# One self-signed certificate for both HTTPS rows (nginx and the gateway).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/body; proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
  upstream confluence { server 127.0.0.1:$UP; keepalive 64; }
  server {
    listen 127.0.0.1:$PROXY;
    location / { proxy_pass http://confluence; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$PROXY_LOG;
    access_log $work/access.log;
    location / { proxy_pass http://confluence; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$PROXY_TLS ssl;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    location / { proxy_pass http://confluence; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' & pids+=($!)

# One worker thread, as nginx runs one worker process above: the same share of the machine.
gateway_toml 127.0.0.1:0 "http://127.0.0.1:$UP" "${WORKERS:-1}" "sqlite:$work/gateway.sqlite" > "$work/gateway.toml"
start_gateway() { # name store [durability] → base URL (HTTPS when TLS is set)
  sed -e "s|^store = .*|store = \"$2\"|" -e "s|^durability = .*|durability = \"${3:-process}\"|" \
    "$work/gateway.toml" > "$work/$1.toml"
  [ -n "${TLS:-}" ] && printf '[tls]\ncert_file = "%s"\nkey_file = "%s"\n' "$work/cert.pem" "$work/key.pem" >> "$work/$1.toml"
  $CFL serve --config "$work/$1.toml" > "$work/$1.out" 2>"$work/$1.err" & pids+=($!)
  echo $! > "$work/$1.pid"
  for _ in $(seq 100); do grep -q base_url "$work/$1.out" 2>/dev/null && break; sleep 0.1; done
  python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["base_url"])' "$work/$1.out"
}
NAMES=${NAMES:-"direct nginx nginx_log bare cfl cfl_full cfl_pg nginx_tls cfl_tls"}
for name in $NAMES; do
  case $name in
    bare)
      BARE=${BARE:-target/release/examples/bare_proxy}
      [ "$BARE" = target/release/examples/bare_proxy ] && cargo build --release -q -p cfl-gateway --features bench --example bare_proxy
      $BARE 127.0.0.1:18193 "http://127.0.0.1:$UP" > "$work/bare.out" & pids+=($!)
      echo $! > "$work/bare.pid"
      for _ in $(seq 100); do grep -q listening "$work/bare.out" 2>/dev/null && break; sleep 0.1; done;;
    cfl) GW=$(start_gateway cfl "sqlite:$work/gateway.sqlite"); add_token "$GW" --cacert "$work/cert.pem";;
    cfl_full) GW_FULL=$(start_gateway cfl_full "sqlite:$work/gateway-full.sqlite" power-loss); add_token "$GW_FULL" --cacert "$work/cert.pem";;
    cfl_tls) GW_TLS=$(TLS=1 start_gateway cfl_tls "sqlite:$work/gateway-tls.sqlite"); add_token "$GW_TLS" --cacert "$work/cert.pem";;
    cfl_pg) # the same gateway on PostgreSQL (scripts/postgres.sh starts a local server)
      PG_ADMIN=$(bash scripts/postgres.sh)
      PG_DB="cfl_bench_$$"
      psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
      GW_PG=$(start_gateway cfl_pg "${PG_ADMIN%/*}/$PG_DB"); add_token "$GW_PG" --cacert "$work/cert.pem";;
  esac
done
# The worker processes of the upstream and of the proxying nginx (each runs one).
UPSTREAM_WORKER=$(pgrep -P "${pids[0]}" | head -1)
NGINX_WORKER=$(pgrep -P "${pids[1]}" | head -1)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in clock ticks
# "thread ticks" for each thread of a process, summed by name ("main" for the one that started
# it): where a gateway's CPU goes (the runtime, the audit store thread, sqlx's SQLite worker).
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    # The name in stat may hold spaces; utime and stime are the 12th and 13th fields after it.
    name=$(tr ' ' _ < "$t/comm"); [ "${t##*/}" = "$1" ] && name=main
    echo "$name $(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')"
  done 2>/dev/null | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
for g in ${GW:-} ${GW_FULL:-} ${GW_PG:-} ${GW_TLS:-}; do
  curl -sf --cacert "$work/cert.pem" -H "$AUTH" "$g$PATH_" >/dev/null || { echo "gateway smoke request to $g failed"; cat "$work"/*.err; exit 1; }
done

# One wrk report → "rps p99_ms errors requests" (the p99 in ms whatever unit wrk printed).
wrk_figures() {
  python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"99%\s+([\d.]+)(us|ms|s)", t)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)),
      round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)], 3),
      errors.group(1) if errors else 0,
      re.search(r"(\d+) requests in", t).group(1))
PY
}

run() { # name url proxy_pid → "rps p99_ms errors upstream_us_per_req proxy_us_per_req by_thread"
  local n0 g0=0 n1 g1=0 rps p99 errs n split=-
  n0=$(cpu_ticks "$UPSTREAM_WORKER"); [ -n "$3" ] && g0=$(cpu_ticks "$3") && thread_ticks "$3" > "$work/threads0"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$AUTH" "$2$PATH_" > "$work/$1.wrk"
  n1=$(cpu_ticks "$UPSTREAM_WORKER"); [ -n "$3" ] && g1=$(cpu_ticks "$3") && thread_ticks "$3" > "$work/threads1"
  read -r rps p99 errs n < <(wrk_figures "$work/$1.wrk")
  local tick_us=$((1000000 / $(getconf CLK_TCK)))
  # by_thread: "name=µs,name=µs" per request, threads that used at least 0.5 µs.
  [ -n "$3" ] && [[ $1 != nginx* ]] && split=$(join -a2 "$work/threads0" "$work/threads1" | awk -v n="$n" -v t="$tick_us" \
    '{d = (NF == 3 ? $3 - $2 : $2) * t / n; if (d >= 0.5) printf "%s%s=%.1f", (k++ ? "," : ""), $1, d}')
  echo "$rps $p99 $errs $(( (n1 - n0) * tick_us / n )) $(( (g1 - g0) * tick_us / n )) ${split:--}"
}

# Latency at a fixed, moderate load (each of 8 connections waits 2 ms between requests: a few
# thousand req/s on every path), where the p99 shows what the proxy adds rather than the queue
# that any saturated closed-loop benchmark builds up.
echo 'function delay() return 2 end' > "$work/pace.lua"
# The proxy's CPU per request is measured here too: on this VM, at this pace, every proxy spends
# more CPU per request than when saturated (1.4-1.8 times in BENCHMARKS.md's run; idle vCPUs halt
# between requests and caches go cold), and the latency a proxy adds follows its CPU here.
paced() { # url proxy_pid → "rps p99_ms proxy_us_per_req"
  local g0=0 g1=0 rps p99 errs n
  [ -n "$2" ] && g0=$(cpu_ticks "$2")
  wrk -t1 -c8 -d"$DURATION" --latency -s "$work/pace.lua" -H "$AUTH" "$1$PATH_" > "$work/paced.wrk"
  [ -n "$2" ] && g1=$(cpu_ticks "$2")
  read -r rps p99 errs n < <(wrk_figures "$work/paced.wrk")
  echo "$rps $p99 $(( (g1 - g0) * 1000000 / $(getconf CLK_TCK) / n ))"
}

declare -A RPS P99 NCPU GCPU PRPS PP99 PCPU SPLIT
for r in $(seq "$ROUNDS"); do
  for name in $NAMES; do
    gpid=""
    case $name in
      direct) url="http://127.0.0.1:$UP";;
      nginx) url="http://127.0.0.1:$PROXY"; gpid=$NGINX_WORKER;;
      nginx_log) url="http://127.0.0.1:$PROXY_LOG"; gpid=$NGINX_WORKER;;
      bare) url="http://127.0.0.1:18193"; gpid=$(cat "$work/bare.pid");;
      cfl) url="$GW"; gpid=$(cat "$work/cfl.pid");;
      cfl_full) url="$GW_FULL"; gpid=$(cat "$work/cfl_full.pid");;
      cfl_pg) url="$GW_PG"; gpid=$(cat "$work/cfl_pg.pid");;
      nginx_tls) url="https://127.0.0.1:$PROXY_TLS"; gpid=$NGINX_WORKER;;
      cfl_tls) url="$GW_TLS"; gpid=$(cat "$work/cfl_tls.pid");;
    esac
    read -r rps p99 errs ncpu gcpu split < <(run "$name" "$url" "$gpid")
    [ "$errs" = 0 ] || { echo "$name: $errs non-2xx responses"; exit 1; }
    read -r prps pp99 pcpu < <(paced "$url" "$gpid")
    RPS[$name]+="$rps "; P99[$name]+="$p99 "; NCPU[$name]+="$ncpu "; GCPU[$name]+="$gcpu "
    PRPS[$name]+="$prps "; PP99[$name]+="$pp99 "; PCPU[$name]+="$pcpu "; SPLIT[$name]+="$split "
    echo "round $r $name: $rps req/s, p99 $p99 ms, CPU/request: upstream ${ncpu%.*} µs, proxy ${gcpu%.*} µs ($split); paced: $prps req/s, p99 $pp99 ms, proxy $pcpu µs" >&2
  done
done

args=()
for name in $NAMES; do
  args+=("$name" "${RPS[$name]}" "${P99[$name]}" "${NCPU[$name]}" "${GCPU[$name]}" "${PRPS[$name]}" "${PP99[$name]}" "${PCPU[$name]}")
done
python3 - "${args[@]}" <<'PY'
import statistics as st, sys
a = sys.argv[1:]
d = {a[i]: [[float(x) for x in a[i + k].split()] for k in range(1, 8)] for i in range(0, len(a), 8)}
m = st.median
label = {
    "direct": "direct to upstream",
    "nginx": "nginx reverse proxy",
    "nginx_log": "nginx reverse proxy, access log on",
    "bare": "hyper alone (no checks, no audit)",
    "cfl": "cfl serve, SQLite, durability=process",
    "cfl_full": "cfl serve, SQLite, durability=power-loss",
    "cfl_pg": "cfl serve, PostgreSQL (local, fsync=off)",
    "nginx_tls": "nginx reverse proxy, HTTPS",
    "cfl_tls": "cfl serve, SQLite, durability=process, HTTPS",
}
up = m(d["direct"][2]) if "direct" in d else 0  # the upstream's own CPU per request
print("| path | req/s (median) | p99 ms (median) | proxy CPU µs/request |")
print("|---|---|---|---|")
for k, (rps, p99, ncpu, gcpu, _, _, _) in d.items():
    cpu = "-" if k == "direct" else f"{m(gcpu):.0f}"
    print(f"| {label[k]} | {m(rps):.0f} | {m(p99):.3f} | {cpu} |")
print()
print("At a fixed pace (8 connections, 2 ms between a connection's requests):")
print()
print("| path | req/s (median) | p99 ms (median) | proxy CPU µs/request |")
print("|---|---|---|---|")
for k, (_, _, _, _, prps, pp99, pcpu) in d.items():
    cpu = "-" if k == "direct" else f"{m(pcpu):.0f}"
    print(f"| {label[k]} | {m(prps):.0f} | {m(pp99):.3f} | {cpu} |")
print()
pp = lambda k: m(d[k][5])
r, p = lambda k: m(d[k][0]), lambda k: m(d[k][1])
lines = [
    ("direct", None, lambda: f"upstream (nginx answering) CPU per request: {up:.0f} µs"),
    ("cfl", "nginx", lambda: f"cfl / nginx throughput (process): {r('cfl')/r('nginx'):.2f}   (goal >= 0.85)"),
    ("cfl", "nginx_log", lambda: f"cfl / nginx with its access log throughput (process): {r('cfl')/r('nginx_log'):.2f}"),
    ("cfl_full", "nginx", lambda: f"cfl / nginx throughput (power-loss): {r('cfl_full')/r('nginx'):.2f}"),
    ("cfl_tls", "nginx_tls", lambda: f"cfl / nginx throughput over HTTPS (process): {r('cfl_tls')/r('nginx_tls'):.2f}"),
    ("cfl", "direct", lambda: f"cfl p99 added over direct (process): {p('cfl')-p('direct'):.3f} ms   (goal < 0.5 ms)"),
    ("cfl", "nginx", lambda: f"cfl p99 added over nginx (process): {p('cfl')-p('nginx'):.3f} ms"),
    ("cfl", "direct", lambda: f"at a fixed pace, cfl p99 added over direct (process): {pp('cfl')-pp('direct'):.3f} ms   (goal < 0.5 ms)"),
    ("cfl_full", "direct", lambda: f"at a fixed pace, cfl p99 added over direct (power-loss): {pp('cfl_full')-pp('direct'):.3f} ms"),
    ("nginx", "direct", lambda: f"at a fixed pace, nginx p99 added over direct: {pp('nginx')-pp('direct'):.3f} ms"),
    ("bare", "nginx", lambda: f"hyper alone / nginx throughput: {r('bare')/r('nginx'):.2f}"),
    ("bare", "direct", lambda: f"at a fixed pace, hyper alone p99 added over direct: {pp('bare')-pp('direct'):.3f} ms"),
    ("cfl", "bare", lambda: f"gateway CPU per request beyond hyper alone (process): {m(d['cfl'][3]) - m(d['bare'][3]):.0f} µs"),
    ("cfl_pg", "cfl", lambda: f"PostgreSQL (fsync=off) / SQLite (process) throughput: {r('cfl_pg')/r('cfl'):.2f}"),
    ("cfl_pg", "cfl_full", lambda: f"PostgreSQL (fsync=off) / SQLite (power-loss) throughput: {r('cfl_pg')/r('cfl_full'):.2f}"),
]
for a, b, line in lines:
    if a in d and (b is None or b in d):
        print(line())
PY
# Where each gateway's CPU went, by thread: medians over the rounds.
for name in $NAMES; do
  [ "${SPLIT[$name]}" = "$(printf -- '- %.0s' $(seq "$ROUNDS"))" ] && continue
  echo "${SPLIT[$name]}" | tr ' ' '\n' | tr ',' '\n' | grep = | python3 -c '
import collections, statistics, sys
by = collections.defaultdict(list)
for line in sys.stdin:
    k, v = line.strip().split("=")
    by[k].append(float(v))
print(sys.argv[1] + " CPU µs/request by thread (medians): " + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in sorted(by.items(), key=lambda kv: -statistics.median(kv[1]))))
' "$name"
done
if [ -n "${GW:-}" ]; then
  echo "audit records written: $(curl -sf -H "Authorization: Bearer $CFL_ADMIN_TOKEN" "$GW/admin/v1/audit/verify")"
fi
