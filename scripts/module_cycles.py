#!/usr/bin/env python3
"""Reports import cycles between the source files of a Rust crate.

An edge A -> B means file A names an item that module B *defines*: through a `use` tree or an
inline path, written from the crate root (`crate::store::Backend`), relative to the file
(`self::x`, `super::X`, or a bare `child::X` naming one of its own `mod child;`), or through a
name the target imports. A path resolves to the deepest module file that exists, and an item
name at its end is followed through that module's `use` (or `pub use`) to where it is defined:
`crate::proxy::pool::Pool` is an edge to `proxy/pool.rs`, `super::Target` from a child is one
to `authorize/target.rs` when `authorize/mod.rs` only says `pub use target::Target`. So a
`mod.rs`/`lib.rs` that only declares children and re-exports them cannot close a cycle by
itself, while a parent that defines items its children use *and* uses (or re-exports) a child
is one: shared items belong in a file of their own. Test code (`#[cfg(test)]` items) and
`mod x;` declarations are not edges.

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
    tree = re.sub(r"\s+as\s+", "@", tree)
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
                if cur is not None and (seg or cur != list(prefix)):  # not after a trailing comma
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


def base_of(path, here, children):
    """Where a path starts (a module) and the segments after it, or None outside the crate."""
    head, rest = path[0], path[1:]
    if head == "crate":
        return (), rest
    if head == "self":
        return here, rest
    if head == "super":
        base = here[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
        return base, rest
    if head in children.get(here, ()):
        return here + (head,), rest
    return None


def resolve(path, here, modules, children, imports, seen=()):
    """The module file that defines what a path names, or None outside the crate."""
    if not path:
        return None
    start = base_of(path, here, children)
    if start is None:
        return None
    cur, rest = start
    while cur and cur not in modules:  # an inline `mod x { … }`: its file
        cur = cur[:-1]
    if cur not in modules:
        return None
    for i, seg in enumerate(rest):
        if cur + (seg,) in modules:
            cur = cur + (seg,)
            continue
        # an item name: follow the module's import of it, if that is what it is
        via = imports.get(cur, {}).get(seg)
        if via is not None and (cur, seg) not in seen:
            found = resolve(via + rest[i + 1 :], cur, modules, children, imports, seen + ((cur, seg),))
            if found is not None:
                return found
        break
    return cur


def names_module(path, here, modules, children):
    """Whether every segment of a path names a module (so it names no item)."""
    start = base_of(path, here, children) if path else None
    if start is None:
        return False
    cur, rest = start
    for seg in rest:
        cur = cur + (seg,)
        if cur not in modules:
            return False
    return cur in modules


def use_paths(text, mod, inline):
    """Each `use` tree's paths, as (module it is in, path, name it binds or None for a glob)."""
    out = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        here = scope(mod, inline, m.start())
        tree = m.group(1).strip().lstrip(":")
        for p in expand_use(tree):
            if not p:
                continue
            last = p[-1]
            if "@" in last:
                seg, alias = last.split("@", 1)
                p = p[:-1] + [seg]
            else:
                alias = last
            if p[-1] == "self":
                p = p[:-1]
                alias = p[-1] if p and alias == "self" else alias
            if not p:
                continue
            out.append((here, p, None if alias == "*" else alias))
    return out


def inline_modules(text):
    """(start, end, name) of each inline `mod name { … }` body."""
    out = []
    for m in re.finditer(r"\bmod\s+(\w+)\s*\{", text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        out.append((m.end(), j, m.group(1)))
    return out


def scope(mod, inline, pos):
    """The module a position in a file is in, inline modules included."""
    here = mod
    for start, end, name in inline:
        if start <= pos < end:
            here = here + (name,)
    return here


def crate_edges(crate):
    src = os.path.join(crate, "src")
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                files[module_of(src, p)] = p
    texts = {m: strip(open(p, encoding="utf-8").read()) for m, p in files.items()}
    children = {
        m: {c for c in re.findall(r"\bmod\s+(\w+)\s*;", t) if m + (c,) in files}
        for m, t in texts.items()
    }
    inlines = {m: inline_modules(t) for m, t in texts.items()}
    uses = {m: use_paths(t, m, inlines[m]) for m, t in texts.items()}
    imports = {m: {a: p for h, p, a in us if a and a != "_" and h == m} for m, us in uses.items()}
    edges = {m: set() for m in files}
    for mod, text in texts.items():
        # a `use` that only names a module (`use crate::oidc;`) is no edge by itself: the paths
        # through that name below are
        paths = [(h, p) for h, p, _ in uses[mod] if not names_module(p, h, files, children)]
        # inline paths outside `use` (whose trees were read whole above)
        text = re.sub(r"\buse\s+[^;]+;", lambda m: " " * len(m.group(0)), text)
        for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", text):
            paths.append((scope(mod, inlines[mod], m.start()), m.group(1).split("::")))
        heads = children[mod] | set(imports[mod])
        if heads:
            alt = "|".join(sorted(heads))
            for m in re.finditer(rf"(?<![\w:.])((?:{alt})(?:::\w+)+)", text):
                here = scope(mod, inlines[mod], m.start())
                if here != mod:
                    continue
                p = m.group(1).split("::")
                if p[0] not in children[mod]:  # through an imported name
                    p = imports[mod][p[0]] + p[1:]
                paths.append((here, p))
        for here, p in paths:
            target = resolve(p, here, files, children, imports)
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
