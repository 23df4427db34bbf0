#!/usr/bin/env bash
# Audit ingest: CPU per record to chain journaled audit records and insert them into a SQLite
# store (the gateway's audit store thread; crates/gateway/examples/audit_ingest.rs), for this
# working tree against a baseline revision, in the same run: alternating rounds, medians, ratio.
# The same driver (this tree's example) runs against both, unless the base predates it.
#
#   BASE=HEAD~1 ROUNDS=5 RECORDS=200000 BATCH=800 bash bench/audit-ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:-HEAD}
ROUNDS=${ROUNDS:-5}
RECORDS=${RECORDS:-200000}
BATCH=${BATCH:-800}
work=$(mktemp -d)
cleanup() { git worktree remove --force "$work/base" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

git worktree add -q --detach "$work/base" "$BASE"
# A base from before the store thread used audit::ingest keeps its own driver (it measures the
# same work through the API it had: chain, insert, journal mark, checkpoint).
if [ -f "$work/base/crates/gateway/src/audit/ingest.rs" ]; then
  cp crates/gateway/examples/audit_ingest.rs "$work/base/crates/gateway/examples/"
fi
target=${CARGO_TARGET_DIR:-$PWD/target}
build() { # source dir, target dir → the example built from that tree
  # Trees since the gateway's internals went pub(crate) open them to the example with `bench`.
  local features=""; grep -q '^bench = ' "$1/crates/gateway/Cargo.toml" && features="--features bench"
  (cd "$1" && cargo build --release -q -p cfl-gateway $features --example audit_ingest --target-dir "$2")
  echo "$2/release/examples/audit_ingest"
}
new=$(build "$PWD" "$target")
# A target directory of its own: cargo can mistake one tree's build for the other's.
old=$(build "$work/base" "$target/bench-audit-ingest-base")

for r in $(seq "$ROUNDS"); do
  for side in base tree; do
    bin=$old; [ $side = tree ] && bin=$new
    line=$("$bin" "$RECORDS" "$BATCH")
    echo "round $r $side: $line" >&2
    echo "$side ${line#*cpu_us_per_record=}" | sed 's/ [a-z_]*=/ /g' >> "$work/results"
  done
done
python3 - "$work/results" "$BASE" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda side, i: statistics.median(float(r[i]) for r in rows if r[0] == side)
b, t = med("base", 1), med("tree", 1)
print(f"audit ingest, median CPU µs per record: base ({sys.argv[2]}) {b:.2f}, this tree {t:.2f}, ratio {t / b:.2f}")
print(f"median wall µs per record: base {med('base', 2):.2f}, this tree {med('tree', 2):.2f}")
print(f"database bytes per record: base {med('base', 3):.0f}, this tree {med('tree', 3):.0f}")
PY
