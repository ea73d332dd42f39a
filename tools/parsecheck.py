"""Temporary: parse .ybl files and print syntax diagnostics (until `yibaolang check` lands)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from yibaolang.diagnostics import render_text
from yibaolang.frontend import source, syntax

bad = 0
for arg in sys.argv[1:]:
    for p in ([Path(arg)] if Path(arg).is_file() else sorted(Path(arg).rglob("*.ybl"))):
        src = source.decode(str(p), p.read_bytes())
        m, diags = syntax.parse(src)
        for d in diags:
            bad += 1
            print(render_text(d, src.original.splitlines()))
        if not diags:
            print(f"{p}: ok ({len(m.definitions)} 定义, {len(m.clauses)} 条款)")
sys.exit(1 if bad else 0)
