#!/usr/bin/env bash
# Gateway overhead on loopback, measured in one run so the ratios are fair:
#   direct  — wrk → a fast upstream (nginx returning a fixed Confluence-like JSON answer)
#   nginx   — wrk → nginx as a plain reverse proxy → upstream
#   cfl     — wrk → cfl serve (bound token, 5 restriction rules, audit log on, SQLite) → upstream
# Each configuration runs ROUNDS times, interleaved; the table shows medians and ratios.
# Needs nginx and wrk (Debian: nginx-light wrk); installs them if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light wrk >/dev/null
fi
cargo build --release -q -p cfl
CFL=target/release/cfl

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

UP=18191 PROXY=18192
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
    listen 127.0.0.1:$UP;
    location / { default_type application/json; return 200 '{"type":"known","username":"svc-reports","displayName":"Reports Service Account"}'; }
  }
  server {
    listen 127.0.0.1:$PROXY;
    location / { proxy_pass http://confluence; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' & pids+=($!)

cat > "$work/gateway.toml" <<TOML
listen = "127.0.0.1:0"
store = "sqlite:$work/gateway.sqlite"
[upstream]
url = "http://127.0.0.1:$UP"
[upstream.identity]
mode = "static"
pat = "bench-not-a-secret"
TOML
export CFL_ADMIN_TOKEN=bench-admin-token-0123456789
start_gateway() { # name store → base URL
  sed "s|^store = .*|store = \"$2\"|" "$work/gateway.toml" > "$work/$1.toml"
  $CFL serve --config "$work/$1.toml" > "$work/$1.out" 2>"$work/$1.err" & pids+=($!)
  for _ in $(seq 100); do grep -q base_url "$work/$1.out" 2>/dev/null && break; sleep 0.1; done
  python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["base_url"])' "$work/$1.out"
}
GW=$(start_gateway cfl "sqlite:$work/gateway.sqlite")
# The same gateway on PostgreSQL (scripts/postgres.sh starts a local server).
PG_ADMIN=$(bash scripts/postgres.sh)
PG_DB="cfl_bench_$$"
psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
GW_PG=$(start_gateway cfl_pg "${PG_ADMIN%/*}/$PG_DB")
SECRET=$(curl -sf -H "Authorization: Bearer $CFL_ADMIN_TOKEN" -H 'content-type: application/json' "$GW/admin/v1/tokens" -d '{
  "label": "bench", "user": "svc-reports",
  "restrictions": ["[post].*/rest/api/space/DEV/property.*", "[get]/rest/api/content[QueryParam::spaceKey==DEV]",
                   "[delete]/rest/api/content/[0-9]+", "[put]/rest/api/content/[0-9]+[JsonData::space.key==DEV]",
                   "[get]/rest/api/user/current"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
AUTH="Authorization: Basic $(printf 'svc-reports:%s' "$SECRET" | base64 -w0)"
# The PostgreSQL gateway gets the same token (the same secret, chosen by the admin).
curl -sf -H "Authorization: Bearer $CFL_ADMIN_TOKEN" -H 'content-type: application/json' "$GW_PG/admin/v1/tokens" -d "{
  \"label\": \"bench\", \"user\": \"svc-reports\", \"token\": \"$SECRET\",
  \"restrictions\": [\"[post].*/rest/api/space/DEV/property.*\", \"[get]/rest/api/content[QueryParam::spaceKey==DEV]\",
                   \"[delete]/rest/api/content/[0-9]+\", \"[put]/rest/api/content/[0-9]+[JsonData::space.key==DEV]\",
                   \"[get]/rest/api/user/current\"]}" >/dev/null
PATH_="/rest/api/user/current"
curl -sf -H "$AUTH" "$GW$PATH_" >/dev/null || { echo "gateway smoke request failed"; cat "$work/gateway.err"; exit 1; }

run() { # name url → "rps p99_ms"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$AUTH" "$2$PATH_" > "$work/$1.wrk"
  python3 - "$work/$1.wrk" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)", t)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(rps, p99, errors.group(1) if errors else 0)
PY
}

declare -A RPS P99
for r in $(seq "$ROUNDS"); do
  for name in direct nginx cfl cfl_pg; do
    case $name in direct) url="http://127.0.0.1:$UP";; nginx) url="http://127.0.0.1:$PROXY";; cfl) url="$GW";; cfl_pg) url="$GW_PG";; esac
    read -r rps p99 errs < <(run "$name" "$url")
    [ "$errs" = 0 ] || { echo "$name: $errs non-2xx responses"; exit 1; }
    RPS[$name]+="$rps "; P99[$name]+="$p99 "
    echo "round $r $name: $rps req/s, p99 $p99 ms" >&2
  done
done

python3 - "${RPS[direct]}" "${RPS[nginx]}" "${RPS[cfl]}" "${P99[direct]}" "${P99[nginx]}" "${P99[cfl]}" "${RPS[cfl_pg]}" "${P99[cfl_pg]}" <<'PY'
import statistics as st, sys
rd, rn, rc, pd, pn, pc, rg, pg = [[float(x) for x in a.split()] for a in sys.argv[1:]]
m = lambda xs: st.median(xs)
print(f"| path | req/s (median) | p99 ms (median) |")
print(f"|---|---|---|")
print(f"| direct to upstream | {m(rd):.0f} | {m(pd):.3f} |")
print(f"| nginx reverse proxy | {m(rn):.0f} | {m(pn):.3f} |")
print(f"| cfl serve (token, 5 rules, audit), SQLite | {m(rc):.0f} | {m(pc):.3f} |")
print(f"| cfl serve (token, 5 rules, audit), PostgreSQL | {m(rg):.0f} | {m(pg):.3f} |")
print()
print(f"cfl / nginx throughput: {m(rc)/m(rn):.2f}   (goal >= 0.85)")
print(f"cfl p99 added over direct: {m(pc)-m(pd):.3f} ms   (goal < 0.5 ms)")
print(f"PostgreSQL / SQLite throughput: {m(rg)/m(rc):.2f}")
PY
echo "audit records written: $(curl -sf -H "Authorization: Bearer $CFL_ADMIN_TOKEN" "$GW/admin/v1/audit/verify")"
