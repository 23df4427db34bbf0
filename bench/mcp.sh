#!/usr/bin/env bash
# Start-up of an MCP server over stdio until its first `tools/list` answer (spawn, `initialize`,
# `notifications/initialized`, `tools/list`), median of RUNS runs, for `cfl mcp` and, in the same
# run, mcp-atlassian (PyPI, into a venv under target/; skipped with the reason when it does not
# install within INSTALL_TIMEOUT seconds). Both point at the same local `cfl sim` (DC, a PAT).
#
#   RUNS=20 bash bench/mcp.sh          (CFL=path/to/cfl skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
INSTALL_TIMEOUT=${INSTALL_TIMEOUT:-300}
MCP_ATLASSIAN_VERSION=${MCP_ATLASSIAN_VERSION:-0.23.1}
if [ -z "${CFL:-}" ]; then
  cargo build --release -q -p cfl
  CFL=$PWD/target/release/cfl
fi
work=$(mktemp -d)
simpid=""
cleanup() { [ -n "$simpid" ] && kill "$simpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/keys" && cp examples/keys/* "$work/keys/" && cp examples/sim-dc.toml "$work/"
"$CFL" sim --config "$work/sim-dc.toml" --listen 127.0.0.1:0 > "$work/sim.out" 2> "$work/sim.err" &
simpid=$!
for _ in $(seq 100); do [ -s "$work/sim.out" ] && break; sleep 0.1; done
base=$(head -1 "$work/sim.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["base_url"])')
pat="NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U="

servers=("cfl mcp|$CFL mcp")
venv=target/bench-mcp-atlassian
if [ ! -x "$venv/bin/mcp-atlassian" ]; then
  echo "installing mcp-atlassian==$MCP_ATLASSIAN_VERSION into $venv (timeout ${INSTALL_TIMEOUT}s)" >&2
  if ! { python3 -m venv "$venv" \
      && timeout "$INSTALL_TIMEOUT" "$venv/bin/pip" install -q --disable-pip-version-check \
         "mcp-atlassian==$MCP_ATLASSIAN_VERSION" >"$work/pip.log" 2>&1; }; then
    echo "skipping mcp-atlassian: it did not install within ${INSTALL_TIMEOUT}s:" >&2
    tail -3 "$work/pip.log" >&2 || true
  fi
fi
if [ -x "$venv/bin/mcp-atlassian" ]; then
  servers+=("mcp-atlassian $MCP_ATLASSIAN_VERSION|$PWD/$venv/bin/mcp-atlassian --transport stdio")
fi

CONFLUENCE_URL="$base" CONFLUENCE_PAT="$pat" CONFLUENCE_PERSONAL_TOKEN="$pat" \
CFL_CONFIG_DIR="$work/config" NO_PROXY=127.0.0.1 RUNS="$RUNS" \
python3 - "${servers[@]}" <<'PY'
import json, os, shlex, statistics, subprocess, sys, time

def first_tools_list(cmd):
    """Seconds from spawn to the `tools/list` answer, and how many tools it listed."""
    msgs = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    p.stdin.write(json.dumps(msgs[0]) + "\n"); p.stdin.flush()
    tools = None
    for line in p.stdout:
        m = json.loads(line)
        if m.get("id") == 1:
            for later in msgs[1:]:
                p.stdin.write(json.dumps(later) + "\n")
            p.stdin.flush()
        elif m.get("id") == 2:
            tools = len(m["result"]["tools"])
            break
    elapsed = time.perf_counter() - start
    p.stdin.close(); p.terminate(); p.wait()
    if tools is None:
        raise SystemExit(f"{cmd[0]} gave no tools/list answer")
    return elapsed, tools

runs = int(os.environ["RUNS"])
print(f"{'server':32} {'median ms':>10} {'min ms':>8} {'tools':>6}   (start-up to first tools/list, {runs} runs)")
for spec in sys.argv[1:]:
    name, cmd = spec.split("|", 1)
    first_tools_list(shlex.split(cmd))  # warm the page cache
    times, tools = [], 0
    for _ in range(runs):
        t, tools = first_tools_list(shlex.split(cmd))
        times.append(t)
    print(f"{name:32} {statistics.median(times)*1000:10.1f} {min(times)*1000:8.1f} {tools:6}")
PY
