#!/usr/bin/env python3
"""Reports import cycles between the source files of a Rust crate.

An edge A -> B means file A names an item of module B: a `use crate::…`, `use super::…` or
`use self::…` tree, or an inline path such as `crate::store::Backend`. Test code (`#[cfg(test)]`
items) and `mod x;` declarations are not edges. A path resolves to the deepest module file that
exists, so `crate::proxy::pool::Pool` is an edge to `proxy/pool.rs`, while `crate::proxy::Proxy`
is one to `proxy/mod.rs`. A parent `mod.rs` that re-exports or calls into a child while the child
uses the parent's items is a cycle too: shared items belong in a file of their own.

Usage: scripts/module_cycles.py crates/gateway [crates/…]   (exit 1 when a cycle is found)
"""

import os
import re
import sys


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main", "mod"):
        rel = rel[:-1]
    return tuple(rel)


def lex(text):
    """The text with comments removed and string and char literals emptied."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif (m := re.match(r'b?r(#*)"', text[i : i + 260])) and not re.match(r"\w", text[i - 1 : i] or " "):
            end = text.find('"' + m.group(1), i + m.end())
            out.append('""')
            i = n if end < 0 else end + 1 + len(m.group(1))
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append('""')
            i += 1
        elif c == "'" and (m := re.match(r"'(\\.[^']*|[^'\\])'", text[i : i + 12])):
            out.append("' '")
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip(text):
    """Drops comments, string literals and `#[cfg(test)]` items."""
    text = lex(text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        j = m.end()
        # skip the item: up to its `;` or the end of its braced body
        depth = 0
        while j < len(text):
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    j += 1
                    break
            elif c == ";" and depth == 0:
                j += 1
                break
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [['a','b'], ['a','c','d'], ['a','c','e']]."""
    tree = re.sub(r"\s+", "", tree)

    def parse(s, i, prefix):
        paths, cur = [], list(prefix)
        seg = ""
        while i < len(s):
            c = s[i]
            if c == "{":
                sub, i = parse(s, i + 1, cur + ([seg] if seg else []))
                paths.extend(sub)
                seg, cur = "", None
                continue
            if c == "}":
                if cur is not None:
                    paths.append(cur + ([seg] if seg else []))
                return paths, i + 1
            if c == ",":
                if cur is not None:
                    paths.append(cur + ([seg] if seg else []))
                cur, seg = list(prefix), ""
            elif s.startswith("::", i):
                if cur is not None and seg:
                    cur.append(seg)
                seg = ""
                i += 2
                continue
            else:
                seg += c
            i += 1
        if cur is not None:
            paths.append(cur + ([seg] if seg else []))
        return paths, i

    paths, _ = parse(tree, 0, [])
    return paths


def resolve(path, here, modules):
    """The module file a path points into, or None outside the crate."""
    if not path:
        return None
    head, rest = path[0], path[1:]
    if head == "crate":
        base = ()
    elif head == "self":
        base = here
    elif head == "super":
        base = here[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    else:
        return None
    best = base if base in modules else None
    cur = base
    for seg in rest:
        cur = cur + (seg,)
        if cur in modules:
            best = cur
        else:
            break
    return best


def crate_edges(crate):
    src = os.path.join(crate, "src")
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                files[module_of(src, p)] = p
    edges = {m: set() for m in files}
    for mod, path in files.items():
        text = strip(open(path, encoding="utf-8").read())
        paths = []
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            tree = m.group(1).strip()
            if tree.startswith(("crate", "super", "self")):
                paths.extend(expand_use(tree))
        for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text):
            paths.append(m.group(1).split("::"))
        for p in paths:
            target = resolve(p, mod, files)
            if target is not None and target != mod:
                edges[mod].add(target)
    return files, edges


def cycles(edges):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def name(mod):
    return "::".join(("crate",) + mod)


def main():
    crates = sys.argv[1:] or ["crates/gateway"]
    found = False
    for crate in crates:
        files, edges = crate_edges(crate)
        comps = cycles(edges)
        for comp in comps:
            found = True
            print(f"{crate}: cycle of {len(comp)} modules:")
            members = set(comp)
            for m in comp:
                inside = sorted(name(t) for t in edges[m] if t in members)
                print(f"  {name(m)} -> {', '.join(inside)}")
        if not comps:
            print(f"{crate}: {len(files)} files, no import cycle")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
