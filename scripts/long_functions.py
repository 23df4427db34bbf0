#!/usr/bin/env python3
"""Lists functions over LIMIT lines outside tests (exit 1 if any): modules stay small and each
function does one thing. Comments, strings and `#[cfg(test)]` items are dropped first (with
module_cycles.py's lexer), so a long doc comment or test table doesn't count.

    python3 scripts/long_functions.py [LIMIT]      # default 100
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import module_cycles  # noqa: E402

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 100
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates")
FN = re.compile(r"\bfn\s+(\w+)[^;{]*\{")

found = []
for crate in sorted(os.listdir(ROOT)):
    for root, _, names in os.walk(os.path.join(ROOT, crate, "src")):
        for name in sorted(names):
            if not name.endswith(".rs") or name == "tests.rs":
                continue
            path = os.path.join(root, name)
            text = module_cycles.strip(open(path, encoding="utf-8").read())
            for m in FN.finditer(text):
                depth, j = 1, m.end()
                while j < len(text) and depth:
                    depth += {"{": 1, "}": -1}.get(text[j], 0)
                    j += 1
                lines = text[m.start():j].count("\n") + 1
                if lines > LIMIT:
                    found.append((lines, os.path.relpath(path, os.path.join(ROOT, "..")), m.group(1)))
for lines, path, name in sorted(found, reverse=True):
    print(f"{path}: fn {name} is {lines} lines (limit {LIMIT}): split it")
if not found:
    print(f"no function over {LIMIT} lines outside tests")
sys.exit(1 if found else 0)
