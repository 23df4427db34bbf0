#!/usr/bin/env bash
# Gateway at size: 1 GiB streamed both ways, 1,000 idle connections, 10,000 tokens (peak RSS).
# Usage: bash bench/gateway-scale.sh   (release build; figures go to BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p cfl
python3 bench/gateway_scale.py target/release/cfl
