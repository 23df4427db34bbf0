#!/usr/bin/env bash
# Attachment streaming: peak RSS of `cfl attachment upload` and `download` for a large file
# (default 256 MiB) against a local `cfl sim`, next to the RSS of a small command as the floor.
# Usage: bash bench/attachments.sh     (SIZE_MB=256; CFL=path/to/cfl skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CFL:-}" ]; then
  cargo build --release -q -p cfl
  CFL=target/release/cfl
fi
SIZE_MB=${SIZE_MB:-256}
work=$(mktemp -d)
simpid=""
cleanup() { [ -n "$simpid" ] && kill "$simpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The DC example with an attachment limit above the file size (a top-level key: after `flavor`).
sed "s/^flavor = \"dc\"/flavor = \"dc\"\nmax_attachment_mb = $((SIZE_MB + 16))/" examples/sim-dc.toml > "$work/sim.toml"
mkdir -p "$work/keys" && cp examples/keys/* "$work/keys/"
"$CFL" sim --config "$work/sim.toml" --listen 127.0.0.1:0 > "$work/sim.out" &
simpid=$!
for _ in $(seq 100); do [ -s "$work/sim.out" ] && break; sleep 0.1; done
base=$(head -1 "$work/sim.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["base_url"])')

export CONFLUENCE_URL="$base" CONFLUENCE_PAT="NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U="
export CFL_CONFIG_DIR="$work/config" NO_PROXY=127.0.0.1
head -c "${SIZE_MB}M" /dev/urandom > "$work/big.bin"

rss() { grep 'Maximum resident' "$1" | awk '{printf "%.1f", $NF/1024}'; }
secs() { grep 'Elapsed (wall clock)' "$1" | awk '{print $NF}'; }

/usr/bin/time -v "$CFL" space list > /dev/null 2> "$work/floor.time"
/usr/bin/time -v "$CFL" attachment upload 'DEV:DEV Home' "$work/big.bin" > /dev/null 2> "$work/up.time"
/usr/bin/time -v "$CFL" attachment download 'DEV:DEV Home' big.bin -o "$work/down.bin" 2> "$work/down.time"
cmp "$work/big.bin" "$work/down.bin"

echo "file: ${SIZE_MB} MiB (bytes compared equal after the round trip)"
echo "cfl space list                 peak RSS $(rss "$work/floor.time") MiB"
echo "cfl attachment upload          peak RSS $(rss "$work/up.time") MiB   wall $(secs "$work/up.time")"
echo "cfl attachment download        peak RSS $(rss "$work/down.time") MiB   wall $(secs "$work/down.time")"
