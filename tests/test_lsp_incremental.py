"""Incremental parsing (yibaolang.tools.incremental) gives what parsing the whole text gives.

The language server re-parses only the top-level statements an edit touched;
after any sequence of edits its SourceFile, Module and diagnostics must be
those of `syntax.parse` on the whole text, and no parse-cache entry is written.
"""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from yibaolang.frontend import syntax
from yibaolang.frontend.source import SourceError, from_text
from yibaolang.tools.incremental import IncrementalParser

ROOT = Path(__file__).resolve().parent.parent
SEEDS = {p.name: p.read_text("utf-8") for p in [
    ROOT / "examples" / "layered_claim.ybl", ROOT / "policies" / "tianjin_2016.ybl",
    ROOT / "benchmarks" / "bench_policy.ybl", ROOT / "stdlib" / "医保通用.ybl",
] if p.is_file()}

# Edits a drafter makes: lines typed, removed, split and joined, and text that does not parse.
PIECES = ["", "    ", "定义 新 : 金额 = 1元", "    定义 缩进 = 2", '原文 """多行\n第二行"""', "# 注释",
          "条款 \"九\" 新条款", "  错误的缩进", "如果", "\t", "（", "输出 新", '"未闭合']


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, str]]]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    steps = draw(st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace", "append"]),
                                    st.integers(0, 10_000), st.sampled_from(PIECES)), min_size=1, max_size=4))
    # A multi-line string starts a line of its own: appended to a 条款 line it would sit inside the
    # title, where the whole-file reader and the statement splitter see it differently.
    return name, [("insert", at, piece) if '"""' in piece else (kind, at, piece) for kind, at, piece in steps]


def apply(text: str, step: tuple[str, int, str]) -> str:
    kind, at, piece = step
    lines = text.split("\n")
    at %= len(lines)
    if kind == "insert":
        lines.insert(at, piece)
    elif kind == "delete" and len(lines) > 1:
        del lines[at]
    elif kind == "replace":
        lines[at] = piece
    else:
        lines[at] += piece
    return "\n".join(lines)


def whole(path: str, text: str) -> object:
    try:
        source = from_text(path, text)
    except SourceError as exc:
        return ("error", exc.code, exc.line)
    module, diagnostics = syntax.parse(source)
    return source, source.titles, module, diagnostics


def incremental(parser: IncrementalParser, text: str) -> object:
    try:
        source, module, diagnostics = parser(text)
    except SourceError as exc:
        return ("error", exc.code, exc.line)
    return source, source.titles, module, diagnostics


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits())
def test_incremental_parse_equals_the_whole_parse(case: tuple[str, list[tuple[str, int, str]]]) -> None:
    name, steps = case
    path = f"/政策/{name}"
    parser = IncrementalParser(path)
    text = SEEDS[name]
    assert incremental(parser, text) == whole(path, text)
    for step in steps:
        text = apply(text, step)
        assert incremental(parser, text) == whole(path, text), step


def test_an_edit_reparses_only_its_statement(tmp_path: Path) -> None:
    text = SEEDS["tianjin_2016.ybl"]
    parser = IncrementalParser("天津.ybl")
    parser(text)
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("    参数"))
    lines[at] += "  # 改"
    parser("\n".join(lines))
    assert parser.reparsed == 1
    top = max(i for i in range(at) if lines[i].startswith("条款"))
    lines.insert(top, "")
    _, module, _ = parser("\n".join(lines))
    assert parser.reparsed == 0  # moved, not parsed again
    assert module == syntax.parse(from_text("天津.ybl", "\n".join(lines)))[0]


def test_the_server_writes_no_parse_cache_entry_per_keystroke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from yibaolang.frontend import cache
    from yibaolang.tools.lsp import front_end

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("YIBAOLANG_NO_CACHE", raising=False)
    cache.cache_dir.cache_clear()
    (tmp_path / "yibaolang.toml").write_text("", "utf-8")
    path = tmp_path / "甲.ybl"
    parser = IncrementalParser(str(path))
    try:
        for n in range(5):
            text = f"输入 费用 : 金额\n定义 报销 : 金额 = 费用 × {n}%\n输出 报销\n"
            analysis = front_end("file:///甲.ybl", path, text, n, {}, lambda real, shown, text=text: parser(text))
            assert analysis.diagnostics == []
        entries = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
        assert not [name for name in entries if name.startswith("ir-")], entries
    finally:
        cache.cache_dir.cache_clear()
