"""Structure checks for curate/: module-level import cycles, file sizes, and what loading a config imports.

    python scripts/check_structure.py [--max-lines 450]

Import cycles are looked for among module-level imports (imports inside functions and under
`if TYPE_CHECKING:` are deliberate late bindings and are not edges). Exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "curate"
HEAVY = ("tokenizers", "tiktoken", "ahocorasick", "ahocorasick_rs", "torch", "fasttext", "sklearn", "matplotlib", "ray",
         "curate.dedup.engine", "curate.mix.engine", "curate.tokenize.tokenizer", "curate.tokenize.fastbpe")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def top_level_imports(path: Path, name: str, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    is_pkg = path.name == "__init__.py"

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join(pkg + ([base] if base else []))
                out.add(base)
                out.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known)

    visit(tree.body)
    return {m for m in out if m in known}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state, stack = [], {}, []

    def dfs(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                cycles.append(stack[stack.index(v):] + [v])
            elif v not in state:
                dfs(v)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            dfs(u)
    return cycles


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-lines", type=int, default=450)
    args = ap.parse_args()
    files = sorted(PKG.rglob("*.py"))
    known = {module_name(p) for p in files}
    graph = {}
    for p in files:
        name = module_name(p)
        # importing a.b.c runs a/__init__ and a/b/__init__ first: those are edges too
        parents = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)} & known
        graph[name] = (top_level_imports(p, name, known) | {x for m in top_level_imports(p, name, known) for x in
                       {".".join(m.split(".")[:k]) for k in range(1, m.count(".") + 1)}} & known) - {name} - parents
    problems = 0
    for cyc in find_cycles(graph):
        print("import cycle: " + " -> ".join(cyc))
        problems += 1
    sizes = sorted(((len(p.read_text(encoding="utf-8").splitlines()), p.relative_to(ROOT)) for p in files), reverse=True)
    for n, p in sizes:
        if n > args.max_lines:
            print(f"{p}: {n} lines (> {args.max_lines})")
            problems += 1
    probe = ("import sys, curate.config as c; c.pipeline_model(); "
             f"print(' '.join(sorted(m for m in sys.modules if m in {HEAVY!r} or m.split('.')[0] in {HEAVY!r})))")
    heavy = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    if heavy:
        print(f"loading a pipeline config imports engine modules: {', '.join(heavy)}")
        problems += 1
    print(f"{len(files)} modules, largest {sizes[0][1]} ({sizes[0][0]} lines), {len(find_cycles(graph))} import cycles, "
          f"config imports {len(heavy)} engine modules")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
