#!/usr/bin/env bash
# Start-up time of `cfl --version` / `cfl --help` against the start-up of a Python and a Node
# Confluence client, measured in the same run with hyperfine (median of RUNS runs each).
#
#   RUNS=50 bash bench/startup.sh
#
# Compared (all print nothing but a version or help, or just load the library):
#   cfl --version, cfl --help                   the release binary
#   python3 -c pass                             bare interpreter
#   python3 load.py (import atlassian)          atlassian-python-api (pip, into a temp dir)
#   node -e 0                                   bare runtime
#   node load.mjs (import 'confluence.js')      confluence.js (npm, into a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-50}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release -q
CFL=$PWD/target/release/cfl

cmds=("$CFL --version" "$CFL --help")
names=("cfl --version" "cfl --help")
if command -v python3 >/dev/null; then
  cmds+=("python3 -c pass"); names+=("python3 -c pass")
  if python3 -m pip install -q --disable-pip-version-check --target "$WORK/py" atlassian-python-api >/dev/null 2>&1; then
    printf 'import sys\nsys.path.insert(0, "%s")\nimport atlassian\n' "$WORK/py" > "$WORK/load.py"
    cmds+=("python3 $WORK/load.py"); names+=("python3: import atlassian (atlassian-python-api)")
  else
    echo "atlassian-python-api could not be installed; comparing with bare python3 only" >&2
  fi
fi
if command -v node >/dev/null; then
  cmds+=("node -e 0"); names+=("node -e 0")
  if (cd "$WORK" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund confluence.js >/dev/null 2>&1); then
    # A module file beside node_modules, so node resolves and really loads the package.
    echo "import 'confluence.js';" > "$WORK/load.mjs"
    cmds+=("node $WORK/load.mjs"); names+=("node: import confluence.js")
  else
    echo "confluence.js could not be installed; comparing with bare node only" >&2
  fi
fi

args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/startup.json" "${args[@]}" >/dev/null 2>&1 \
  || hyperfine --warmup 5 --runs "$RUNS" --export-json "$WORK/startup.json" "${args[@]}" >/dev/null
python3 - "$WORK/startup.json" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
base = rs[0]["median"]
print(f"{'command':50} {'median ms':>10} {'x cfl --version':>16}")
for r in rs:
    print(f"{r['command']:50} {r['median']*1000:10.2f} {r['median']/base:16.1f}")
PY
