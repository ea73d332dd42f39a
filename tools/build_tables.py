"""Rebuild the LALR tables shipped beside the grammar (grammar/yibaolang.lalr).

Run after changing grammar/yibaolang.lark or upgrading Lark:
`python tools/build_tables.py`.  tests/test_grammar.py fails while the shipped
tables do not match the grammar, the Lark version and the Python version.
"""

from __future__ import annotations

from yibaolang.frontend.syntax import shipped_tables, write_tables

if __name__ == "__main__":
    target = shipped_tables()
    write_tables(target)
    print(f"wrote {target} ({target.stat().st_size:,} bytes)")
