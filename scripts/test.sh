#!/usr/bin/env bash
# Runs every test of cfl on a fresh machine: installs what the tests need, then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# A real PostgreSQL server for the store and multi-replica tests (they skip, saying so, without it).
if [ -z "${CFL_TEST_POSTGRES_URL:-}" ]; then
  CFL_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)
  export CFL_TEST_POSTGRES_URL
fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
  cargo test --workspace --doc --quiet
else
  cargo test --workspace --no-fail-fast "$@"
fi
# The web admin page in real headless Chromium (uses the cfl binary the tests above built).
cargo build --quiet -p cfl
(cd e2e && CFL_BIN="$PWD/../target/debug/cfl" node --test)
# atlassian-python-api against `cfl sim` (DC Basic + PAT, Cloud). pytest exits 5 when it collected
# no tests: that is a failure here too (set -e), not a pass.
(cd tests-clients/python && CFL_BIN="$PWD/../../target/debug/cfl" python3 -m pytest -q -p no:cacheprovider)
# `cfl mcp` driven by the official MCP Python SDK over stdio (DC, Cloud, through the demo gateway).
(cd tests-clients/mcp && CFL_BIN="$PWD/../../target/debug/cfl" python3 -m pytest -q -p no:cacheprovider)
# confluence.js against `cfl sim` (DC with a PAT, Cloud).
(cd tests-clients/node && CFL_BIN="$PWD/../../target/debug/cfl" node --test)
# The admin API against its own OpenAPI description with schemathesis (installs its pinned
# version; 25 examples per operation, about 15 s).
bash scripts/schemathesis.sh
