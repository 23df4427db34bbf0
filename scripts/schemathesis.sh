#!/usr/bin/env bash
# Checks the admin API against its own OpenAPI description with schemathesis: a real gateway in
# front of `cfl sim` on free loopback ports, stopped at the end.
#
#   bash scripts/schemathesis.sh                 # bounded (MAX_EXAMPLES=25 per operation)
#   MAX_EXAMPLES=200 bash scripts/schemathesis.sh
#
# `use_after_free` is left out on purpose: a revoked token stays readable (GET after DELETE
# answers 200 with `revokedAt`), as the OpenAPI description of DELETE says. scripts/schemathesis.toml
# says which operations may refuse schema-valid data with 400, and why.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_EXAMPLES=${MAX_EXAMPLES:-25}
# Pinned; installed here, so the script also runs on its own.
if ! schemathesis --version 2>/dev/null | grep -q "4.32.5"; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore schemathesis==4.32.5 \
    || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --break-system-packages schemathesis==4.32.5
fi
cargo build --quiet -p cfl
cfl="$PWD/target/debug/cfl"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a process whose first stdout line is its JSON start-up line; prints its base_url.
start() { # name, command…
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do
    if [ -s "$work/$name.out" ]; then
      python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["base_url"])' <"$work/$name.out"
      return
    fi
    sleep 0.1
  done
  echo "schemathesis: $name did not start:" >&2; cat "$work/$name.err" >&2; exit 1
}

cp -r examples/keys "$work/keys"
cp examples/sim-dc.toml "$work/sim.toml"
sim=$(start sim "$cfl" sim --config "$work/sim.toml" --listen 127.0.0.1:0)
cat >"$work/gateway.toml" <<TOML
listen = "127.0.0.1:0"
store = "sqlite:$work/gw.sqlite"
[upstream]
url = "$sim"
[upstream.identity]
mode = "static"
token_env = "SIM_ALICE_PAT"
TOML
admin=schemathesis-admin-token-0123456789
gateway=$(CFL_ADMIN_TOKEN=$admin SIM_ALICE_PAT=NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U= CFL_LOG=error \
  start gateway "$cfl" serve --config "$work/gateway.toml")

# From the scratch directory: schemathesis keeps a .schemathesis/ cache where it runs.
config="$PWD/scripts/schemathesis.toml"
cd "$work"
schemathesis --config-file "$config" run "$gateway/admin/v1/openapi.json" -H "Authorization: Bearer $admin" \
  --checks all --exclude-checks use_after_free --max-examples "$MAX_EXAMPLES" --seed "${SEED:-1}"
