"""The language server on itemized bills, catalogs and the fund level (docs/itemized.md).

Hover on a field or a per-line definition shows its level and type; on a 目录 name its
file and row count; on a code its catalog rows.  Completion after `目录名.`, `明细.`
and `全体.` offers the columns, the line figures and the fund figures; go to
definition leads from 明细.x and from a catalog name to their declarations.  The index
is tested on the Navigator (as test_navigate.py), and once through the protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from tests.test_lsp import Harness, doc, position, serving
from yibaolang.analysis.lint import check_policy
from yibaolang.semantics.levels import local_name
from yibaolang.tools.navigate import Navigator

POLICY = """政策 明细示例

类型 目录类别 = 选项 {甲, 乙, 丙}

目录 医保目录 "医保目录.csv" "医保药品目录"
    键 编码 : 文本
    列 名称 : 文本
    列 类别 : 目录类别
    列 先行自付比例 : 比例 范围 0% 至 100% 可空
    有效期 生效日期 至 失效日期

输入 就诊日期 : 日期
输入 明细 : 列表 "结算明细"
    编码 : 文本 "医保目录编码"
    数量 : 数 范围 0 至 1万 默认 1
    单价 : 金额
输入 全体.参保人数 : 数 范围 1 至 1亿

定义 明细.明细金额 : 金额 = 数量 × 单价
定义 明细.类别 : 目录类别 = 查目录 医保目录.类别 按 编码 于 就诊日期 查无 丙
定义 阿莫西林类别 : 目录类别 = 查目录 医保目录.类别 按 "XB01" 于 就诊日期 查无 丙
定义 明细.是检查 = 编码 = "ZL03"
定义 总费用 : 金额 = 求和(明细.明细金额 其中 类别 属于 {甲, 乙})
定义 检查费 : 金额 = 求和(明细.明细金额 其中 是检查)
定义 全体.赔付支出 : 金额 = 求和(全体.总费用)

断言 全体.赔付支出 不超过 全体.参保人数 × 1万元 "人均不超过一万元"

输出 总费用, 检查费, 阿莫西林类别
"""

CATALOG = """编码,名称,类别,先行自付比例,生效日期,失效日期
XB01,阿莫西林胶囊,甲,,2024-01-01,
ZL03,CT 检查,乙,10%,2024-01-01,2025-01-01
ZL03,CT 检查,乙,20%,2025-01-01,
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("itemized_lsp")
    (folder / "yibaolang.toml").write_text("", "utf-8")
    (folder / "明细.ybl").write_text(POLICY, "utf-8")
    (folder / "医保目录.csv").write_text(CATALOG, "utf-8")
    return folder


@pytest.fixture(scope="module")
def nav(folder: Path) -> Navigator:
    program = check_policy(folder / "明细.ybl")
    assert [d for d in program.diagnostics if d.is_error] == []
    return Navigator(program)


def at(needle: str, nth: int = 0, offset: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the `nth` occurrence of `needle` in POLICY (plus `offset`)."""
    index = -1
    for _ in range(nth + 1):
        index = POLICY.index(needle, index + 1)
    index += offset
    line = POLICY.count("\n", 0, index) + 1
    return line, index - (POLICY.rfind("\n", 0, index) + 1) + 1


def hover(nav: Navigator, needle: str, nth: int = 0, offset: int = 0) -> str:
    root = nav.program.root.path
    mention = nav.mention_at(root, *at(needle, nth, offset))
    assert mention is not None, needle
    return nav.hover(mention.target, root)


def test_every_mention_covers_its_name_and_leads_somewhere(nav: Navigator) -> None:
    root = nav.program.root.path
    lines = nav.lines[root]
    kinds = set()
    for mention in nav.mentions_of(root):
        kind, key = mention.target.kind, mention.target.key
        kinds.add(kind)
        if kind == "symbol":
            assert lines.text_of(mention.span) in (key[-1], local_name(key[-1])), mention
        if kind in ("catalog", "column"):
            assert lines.text_of(mention.span).strip('"') in (key[-1], "医保目录.csv"), mention
        if kind not in ("builtin", "primitive", "word"):
            assert nav.definition(mention.target) is not None, mention
        assert nav.hover(mention.target, root), mention
    assert {"catalog", "column", "code", "word"} <= kinds


def test_hover_on_a_field_shows_its_list_and_type(nav: Navigator) -> None:
    text = hover(nav, "数量 × 单价")
    assert "明细.数量 : 数 范围 0 至 1万 默认 1" in text
    assert "列表 明细 的每一行" in text and "类型 数" in text


def test_hover_on_a_line_definition_shows_its_level_and_type(nav: Navigator) -> None:
    text = hover(nav, "求和(明细.明细金额", offset=len("求和(明细."))
    assert "定义 明细.明细金额 : 金额" in text and "每行的定义：列表 明细 的每一行各算一次" in text
    assert "基金层的定义" in hover(nav, "全体.赔付支出", offset=3)


def test_hover_on_a_list_input_lists_its_fields(nav: Navigator) -> None:
    text = hover(nav, "输入 明细", offset=3)
    assert "输入 明细 : 列表" in text and "- 编码 : 文本 \"医保目录编码\"" in text


def test_hover_on_a_catalog_shows_its_file_and_rows(nav: Navigator) -> None:
    for needle, offset in (("目录 医保目录", 3), ("查目录 医保目录", 4)):
        text = hover(nav, needle, offset=offset)
        assert "**目录** 医保目录：医保药品目录" in text
        assert "医保目录.csv`，3 行" in text
        assert "- 列 先行自付比例 : 比例 范围 0% 至 100% 可空" in text
        assert "有效期 生效日期 至 失效日期" in text


def test_hover_on_the_validity_columns(nav: Navigator) -> None:
    assert hover(nav, "有效期 生效日期", offset=4) == "目录 医保目录 的生效日期列 生效日期：日期，含当日；留空表示不限"
    assert hover(nav, "至 失效日期", offset=2) == "目录 医保目录 的失效日期列 失效日期：日期，不含当日；留空表示不限"


def test_hover_on_a_column_of_a_lookup(nav: Navigator) -> None:
    text = hover(nav, "医保目录.类别 按 编码", offset=len("医保目录."))
    assert "列 类别 : 目录类别" in text and "目录 医保目录" in text


def test_hover_on_a_code_in_a_lookup_key_shows_the_catalog_and_its_row(nav: Navigator) -> None:
    text = hover(nav, '"XB01"', offset=1)
    assert "**目录** 医保目录：文件" in text and "3 行" in text
    assert "第 2 行：名称：阿莫西林胶囊，类别：甲，先行自付比例：（空）；有效期 2024-01-01 至 不限" in text


def test_hover_on_a_code_elsewhere_shows_its_rows(nav: Navigator) -> None:
    text = hover(nav, '"ZL03"', offset=1)
    assert "第 3 行：名称：CT 检查，类别：乙，先行自付比例：10%；有效期 2024-01-01 至 2025-01-01" in text
    assert "第 4 行" in text and "20%" in text


def test_hover_on_the_fund_qualifier_explains_it(nav: Navigator) -> None:
    assert "基金层" in hover(nav, "全体.参保人数", nth=0)


def test_completion_after_a_catalog_a_list_and_the_fund(nav: Navigator) -> None:
    root = nav.program.root.path
    columns = {c.label: c for c in nav.completions_for(root, "定义 甲 = 查目录 医保目录.")}
    assert set(columns) == {"编码", "名称", "类别", "先行自付比例"}
    assert columns["编码"].detail == "键 · 文本" and columns["类别"].kind == "column"
    lines = {c.label: c.kind for c in nav.completions_for(root, "定义 甲 = 求和(明细.")}
    assert lines == {"编码": "field", "数量": "field", "单价": "field", "明细金额": "definition",
                     "类别": "definition", "是检查": "definition"}
    fund = {c.label for c in nav.completions_for(root, "断言 全体.")}
    assert fund == {"参保人数", "赔付支出"}
    everything = {c.label: c.kind for c in nav.completions_for(root, "定义 甲 = ")}
    assert everything["医保目录"] == "catalog" and everything["明细.编码"] == "field"


def test_definition_of_a_line_figure_and_of_a_catalog(nav: Navigator) -> None:
    root = nav.program.root.path
    figure = nav.mention_at(root, *at("求和(明细.明细金额", offset=len("求和(明细.")))
    assert figure is not None
    assert nav.definition(figure.target) == nav.mention_at(root, *at("定义 明细.明细金额", offset=6)).span
    listed = nav.mention_at(root, *at("求和(明细.明细金额", offset=3))
    assert listed is not None and nav.definition(listed.target).line == at("输入 明细")[0]
    catalog = nav.mention_at(root, *at("查目录 医保目录", offset=4))
    assert catalog is not None and nav.definition(catalog.target).line == at("目录 医保目录")[0]
    field = nav.mention_at(root, *at("按 编码 于", offset=2))
    assert field is not None and nav.definition(field.target).line == at("    编码 : 文本 \"医保")[0]
    refs = nav.references(field.target)
    assert len(refs) == 3  # the declaration, the lookup key and 编码 = "ZL03"


def test_outline_shows_the_catalog_columns_and_the_list_fields(nav: Navigator) -> None:
    outline = {item.name: item for item in nav.outline(nav.program.root.path)}
    assert [c.name for c in outline["医保目录"].children] == ["编码", "名称", "类别", "先行自付比例"]
    assert [f.name for f in outline["明细"].children] == ["编码", "数量", "单价"]
    assert "全体.参保人数" in outline


def test_a_catalog_that_cannot_be_read_is_said_in_the_hover(tmp_path: Path) -> None:
    (tmp_path / "yibaolang.toml").write_text("", "utf-8")
    (tmp_path / "明细.ybl").write_text(POLICY, "utf-8")  # no 医保目录.csv beside it
    nav = Navigator(check_policy(tmp_path / "明细.ybl"))
    text = hover(nav, "目录 医保目录", offset=3)
    assert "读不出来" in text and "医保目录.csv" in text
    assert "读不出来" in hover(nav, '"XB01"', offset=1)


# ------------------------------------------------------------------ through the protocol


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[Harness]:
    yield from serving(folder, "明细.ybl", POLICY)


def test_hover_and_completion_through_the_server(server: Harness) -> None:
    result = server.run(server.client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(server, "明细.ybl"), position=position(POLICY, '"XB01"', offset=1))))
    assert "阿莫西林胶囊" in result.contents.value
    result = server.run(server.client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(server, "明细.ybl"), position=position(POLICY, "数量 × 单价"))))
    assert "列表 明细 的每一行" in result.contents.value
    result = server.run(server.client.text_document_completion_async(lsp.CompletionParams(
        text_document=doc(server, "明细.ybl"), position=position(POLICY, "医保目录.类别 按 编码", offset=5))))
    items = {item.label: item for item in result.items}
    assert {"编码", "名称", "类别", "先行自付比例"} <= set(items)
    assert items["类别"].kind == lsp.CompletionItemKind.Property
    found = server.run(server.client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(server, "明细.ybl"), position=position(POLICY, "查目录 医保目录", offset=5))))
    location = found[0] if isinstance(found, list) else found
    assert location.range.start.line == POLICY.count("\n", 0, POLICY.index("目录 医保目录"))
