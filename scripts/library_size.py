"""Print the size table of the course library: lines per module, the longest function,
and the share of the library's code that lives in ``dlcv.widgets``.

Usage: ``python scripts/library_size.py [lib/dlcv]``. A module's lines are its non-blank
source lines (docstrings and comments included); a function's length is counted with
``ast`` from its ``def`` to its last line, without its docstring.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def module_sizes(root: Path) -> list[tuple[str, int, str, int]]:
    """(module, non-blank lines, longest function, its lines) for every module."""
    rows = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if line.strip()]
        longest, longest_len = "-", 0
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    n -= first.end_lineno - first.lineno + 1  # the docstring does not count
                if n > longest_len:
                    longest, longest_len = node.name, n
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        rows.append((name.removesuffix(".__init__"), len(lines), longest, longest_len))
    return rows


def main(argv: list[str]) -> None:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).parents[1] / "lib" / "dlcv"
    rows = module_sizes(root)
    print("| module | lines | longest function (lines) |\n|---|---:|---|")
    for name, n, fn, fn_len in rows:
        print(f"| {name} | {n} | {fn} ({fn_len}) |")
    total = sum(r[1] for r in rows)
    widgets = sum(r[1] for r in rows if r[0].startswith("dlcv.widgets"))
    print(
        f"\n{len(rows)} modules, {total} lines; dlcv.widgets: {widgets} lines "
        f"({100 * widgets / total:.0f} % of the library)"
    )


if __name__ == "__main__":
    main(sys.argv)
