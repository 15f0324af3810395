#!/usr/bin/env python3
"""Fails when a crate's source files import each other in a cycle.

For every crate under crates/ (and bench/), each .rs file under src/ is a module. A file
depends on another when it names it in a `use` (or a `crate::`/`super::` path) outside
`#[cfg(test)]` code. A cycle (a uses b, b uses a; or a longer ring) means neither file
can be read without the other; the layout of eddy keeps them apart: modules depend on
modules below them only. Prints each cycle and exits 1, or prints nothing and exits 0.

Usage: scripts/check-module-cycles.py [CRATE_DIR ...]   (default: every crate)
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def modules(crate: pathlib.Path) -> dict:
    """Module path (a tuple of names) -> its file."""
    found = {}
    src = crate / "src"
    for path in src.rglob("*.rs"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] in ("lib", "main", "mod"):
            parts = parts[:-1]
        found[tuple(parts)] = path
    return found


def resolve(known: dict, current: tuple, path: str):
    """The module a `use` path lands in (the longest known prefix), or None."""
    segments = [s for s in path.split("::") if s]
    if not segments:
        return None
    if segments[0] == "crate":
        base, segments = (), segments[1:]
    elif segments[0] == "super":
        base = current
        while segments and segments[0] == "super":
            base, segments = base[:-1], segments[1:]
    elif segments[0] == "self":
        base, segments = current, segments[1:]
    elif current + (segments[0],) in known:
        base = current
    else:
        return None
    best = base
    for i in range(len(segments)):
        candidate = base + tuple(segments[: i + 1])
        if candidate not in known:
            break
        best = candidate
    return best


def expand(use: str):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e'] (good enough for paths)."""
    use = " ".join(use.split())
    match = re.match(r"^([\w:]*?)::\{(.*)\}$", use)
    if not match:
        return [use.split(" as ")[0]]
    prefix, body = match.groups()
    items, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    items.append(body[start:])
    out = []
    for item in items:
        item = item.strip()
        if item:
            out.extend(expand(f"{prefix}::{item}"))
    return out


def dependencies(known: dict) -> dict:
    graph = {}
    for module, path in known.items():
        text = path.read_text()
        text = re.split(r"#\[cfg\(test\)\]", text)[0]
        text = re.sub(r"//[^\n]*", "", text)
        found = set()
        for use in re.findall(r"\buse\s+([^;]+);", text):
            for item in expand(use.strip()):
                target = resolve(known, module, item)
                if target is not None:
                    found.add(target)
        for path_text in re.findall(r"\b((?:crate|super)(?:::\w+)+)", text):
            target = resolve(known, module, path_text)
            if target is not None:
                found.add(target)
        # Paths through a child module (`s3::front::handle(...)`) without a `use`.
        for path_text in re.findall(r"(?<![\w:])(\w+(?:::\w+)+)", text):
            if module + (path_text.split("::")[0],) in known:
                found.add(resolve(known, module, path_text))
        found.discard(module)
        graph[module] = found
    return graph


def cycles(graph: dict):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(component)

    sys.setrecursionlimit(10000)
    for node in graph:
        if node not in index:
            visit(node)
    return out


def main() -> int:
    crates = [pathlib.Path(a).resolve() for a in sys.argv[1:]] or sorted(
        [p for p in (ROOT / "crates").iterdir() if (p / "src").is_dir()] + [ROOT / "bench"]
    )
    failed = False
    for crate in crates:
        known = modules(crate)
        graph = dependencies(known)
        for component in cycles(graph):
            failed = True
            base = crate.parent.parent if crate.parent.name == "crates" else crate.parent
            names = sorted(str(known[m].relative_to(base)) for m in component)
            print(f"import cycle in {crate.name}: " + " <-> ".join(names))
            members = set(component)
            for module in sorted(component):
                inside = sorted("::".join(t) or "lib" for t in graph[module] if t in members)
                print(f"  {'::'.join(module) or 'lib'} uses {', '.join(inside)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
