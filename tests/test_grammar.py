"""The grammar and the lexer: strict loading and the known traps of Chinese keywords."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from yibaolang import ir
from yibaolang.frontend import syntax
from yibaolang.frontend.source import from_text, normalize


def parse(text: str) -> ir.Module:
    module, diagnostics = syntax.parse(from_text("t.ybl", text))
    assert diagnostics == [], [d.message for d in diagnostics]
    return module


def definition(text: str) -> ir.Expr:
    return parse(text).definitions[0].expr


def test_grammar_loads_in_strict_mode() -> None:
    # strict=True: no terminal collisions (needs interegular), no LALR conflicts.
    syntax.parser.cache_clear()
    try:
        assert syntax.parser(strict=True) is not None
    finally:
        syntax.parser.cache_clear()


def test_keyword_inside_identifier_stays_a_name() -> None:
    expr = definition("输入 规则 : 金额\n定义 甲 = 规则\n")
    assert isinstance(expr, ir.Name) and expr.name == "规则"


def test_date_literal_is_not_subtraction() -> None:
    expr = definition("定义 甲 = 2025-01-01 + 6个月\n")
    assert isinstance(expr, ir.Arith) and expr.op is ir.ArithOp.ADD
    assert isinstance(expr.left, ir.Literal) and expr.left.kind is ir.LiteralKind.DATE
    assert str(expr.left.value) == "2025-01-01"


def test_chinese_date_literal() -> None:
    expr = definition("定义 甲 = 2021年3月31日\n")
    assert isinstance(expr, ir.Literal) and str(expr.value) == "2021-03-31"


@pytest.mark.parametrize("text, kind, value", [
    ("2万元", ir.LiteralKind.MONEY, Decimal("20000")),
    ("1.8万元", ir.LiteralKind.MONEY, Decimal("18000")),
    ("1亿元", ir.LiteralKind.MONEY, Decimal("100000000")),
    ("0.35元", ir.LiteralKind.MONEY, Decimal("0.35")),
    ("50%", ir.LiteralKind.RATIO, Decimal("0.5")),
    ("0.3%", ir.LiteralKind.RATIO, Decimal("0.003")),
    ("5个百分点", ir.LiteralKind.RATIO, Decimal("0.05")),
    ("2倍", ir.LiteralKind.NUMBER, Decimal("2")),
    ("4年", ir.LiteralKind.YEARS, 4),
    ("3个月", ir.LiteralKind.MONTHS, 3),
    ("90日", ir.LiteralKind.DAYS, 90),
    ("90天", ir.LiteralKind.DAYS, 90),
])
def test_literals_carry_their_unit(text: str, kind: ir.LiteralKind, value: object) -> None:
    expr = definition(f"定义 甲 = {text}\n")
    assert isinstance(expr, ir.Literal)
    assert expr.kind is kind and expr.value == value


def test_inclusive_marker_is_one_token_and_changes_the_operator() -> None:
    expr = definition("输入 费用 : 金额\n定义 甲 = 费用 超过 5万元（含）\n")
    assert isinstance(expr, ir.Compare)
    assert expr.op is ir.CompareOp.GE and expr.inclusive_marker and expr.word == "超过"


@pytest.mark.parametrize("word, op", [
    ("超过", ir.CompareOp.GT), ("高于", ir.CompareOp.GT), ("达到", ir.CompareOp.GE), ("满", ir.CompareOp.GE),
    ("不低于", ir.CompareOp.GE), ("不满", ir.CompareOp.LT), ("未满", ir.CompareOp.LT), ("低于", ir.CompareOp.LT),
    ("不超过", ir.CompareOp.LE), ("未超过", ir.CompareOp.LE), (">=", ir.CompareOp.GE), ("≠", ir.CompareOp.NE),
])
def test_legal_boundary_words(word: str, op: ir.CompareOp) -> None:
    expr = definition(f"输入 费用 : 金额\n定义 甲 = 费用 {word} 1500元\n")
    assert isinstance(expr, ir.Compare) and expr.op is op


def test_lookup_header_may_sit_deeper_than_rows() -> None:
    text = (
        "类型 等级 = 选项 {三级, 二级}\n输入 人员状态 : 选项 {在职, 退休}\n输入 级 : 等级\n"
        "定义 比例值 : 比例 = 查表 (人员状态, 级)\n"
        "                          三级    二级\n"
        "    在职                  90%     92%\n"
        "    退休                  92%     94%\n"
    )
    table = definition(text)
    assert isinstance(table, ir.Table)
    assert table.columns == ("三级", "二级")
    assert [row.key for row in table.rows] == ["在职", "退休"]


def test_comment_lines_at_any_indentation() -> None:
    text = "条款 \"一\" 标题\n  # 浅\n    定义 甲 = 1\n            # 深\n# 顶格\n    定义 乙 = 2  # 行尾\n"
    module = parse(text)
    assert [d.name for d in module.definitions] == ["甲", "乙"]
    assert all(d.clause == "一" for d in module.definitions)


def test_fullwidth_punctuation_maps_one_to_one() -> None:
    text = "定义 甲 ＝ （１００元 ＋ ２００元） × ５０％\n"  # noqa: RUF001 - full-width input is the point of this test
    assert len(normalize(text)) == len(text)
    expr = definition(text)
    assert isinstance(expr, ir.Arith) and expr.span.column == 8


def test_strings_keep_fullwidth_characters() -> None:
    module = parse('条款 "二、（五）" 标题\n    原文 "2 万元至10 万元（含）"\n    定义 甲 = 1\n')
    assert module.clauses[0].text == "2 万元至10 万元（含）"
    assert module.clauses[0].id == "二、(五)"  # ids compare after the mapping


def test_cap_binds_looser_than_arithmetic() -> None:
    expr = definition("输入 费用 : 金额\n定义 甲 = (费用 - 500元) × 50% 封顶 3000元\n")
    assert isinstance(expr, ir.Bounded) and expr.kind is ir.BoundKind.CAP
    assert isinstance(expr.value, ir.Arith) and expr.value.op is ir.ArithOp.MUL


def test_multiline_if_and_else_if() -> None:
    expr = definition("定义 甲 : 月数 =\n    如果 是 则 3个月\n    否则如果 否 则 1个月\n    否则 0个月\n")
    assert isinstance(expr, ir.If) and len(expr.branches) == 2


def test_band_rows_follow_the_legal_reading() -> None:
    text = ("输入 x : 金额\n定义 甲 =\n    分段累进 x\n        2万元 以下 按 0%\n        2万元 至 10万元 按 50%\n"
            "        10万元(含) 至 20万元 按 60%\n        超过 20万元 按 70%\n")
    banded = definition(text)
    assert isinstance(banded, ir.Banded)
    first, second, third, top = banded.bands
    assert first.lower is None and first.upper is not None and first.upper.inclusive
    assert second.lower is not None and not second.lower.inclusive  # X 至 Y is (X, Y]
    assert second.upper is not None and second.upper.inclusive
    assert third.lower is not None and third.lower.inclusive  # X（含） 至 Y includes X
    assert top.upper is None and top.lower is not None and not top.lower.inclusive


def test_every_syntax_error_is_reported_not_only_the_first() -> None:
    _, diagnostics = syntax.parse(from_text("t.ybl", "定义 甲 = 1 +\n定义 乙 = 2\n定义 丙 = × 3\n"))
    assert [d.span.line for d in diagnostics] == [1, 3]


def test_bom_is_ignored() -> None:
    module, diagnostics = syntax.parse(from_text("t.ybl", "\ufeff定义 甲 = 1\n"))
    assert diagnostics == [] and module.definitions[0].span.column == 1


def test_missing_space_proposes_spaced_form() -> None:
    _, diagnostics = syntax.parse(from_text(
        "t.ybl", "输入 个人负担 : 金额\n定义 甲 = 如果个人负担超过2万元 则 1元 否则 0元\n"))
    (d,) = diagnostics
    assert d.suggestions and d.suggestions[0].replacement == "如果 个人负担 超过 2万元"


def test_a_line_of_unusual_blank_characters_is_still_an_error() -> None:
    # U+00A0 looks blank to Python's str.strip but is no whitespace to the lexer.
    _, diagnostics = syntax.parse(from_text("t.ybl", "定义 甲 = 1\n\u00a0\n定义 乙 = 2\n"))
    assert [d.code for d in diagnostics] == ["YB101"]


def test_shipped_tables_match_the_grammar() -> None:
    with syntax.shipped_tables().open("rb") as f:
        key = f.readline().rstrip(b"\n")
    assert key == syntax.tables_key(), "shipped LALR tables are stale: run python tools/build_tables.py"


def test_shipped_tables_parse_like_freshly_built_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = sorted((Path(__file__).parent.parent / "policies").glob("*.ybl"))[:3]
    sources = [from_text(path.name, path.read_text("utf-8")) for path in paths]
    syntax.parser.cache_clear()
    try:
        assert syntax._load_shipped() is not None
        shipped = [syntax.parse(source) for source in sources]
        syntax.parser.cache_clear()
        monkeypatch.setattr(syntax, "_load_shipped", lambda: None)
        monkeypatch.setattr(syntax, "_cache_path", lambda: None)
        built = [syntax.parse(source) for source in sources]
    finally:
        syntax.parser.cache_clear()
    assert shipped == built


def test_fresh_install_builds_no_tables(tmp_path) -> None:
    # No cache folder at all (a read-only or missing home): the first parse
    # still loads the shipped tables and never builds a grammar.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    env = {**os.environ, "XDG_CACHE_HOME": str(blocked), "HOME": str(blocked)}
    code = ("import yibaolang.frontend.syntax as s; p = s.parser(); "
            "print(hasattr(p, 'grammar'), s._load_shipped() is not None)")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.split() == ["False", "True"]
