"""`yibaolang lsp` end to end: a real LSP client (pygls's) talks to the server over stdio.

One server process serves the whole module; every request is bounded by a
timeout, so a hung server fails the test instead of stalling the suite.
Positions on the wire are UTF-16: the documents carry CJK text and 𠀀
(U+20000, outside the BMP: two UTF-16 units, one code point).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lsprotocol.types as lsp
import pygls  # noqa: F401 - a test dependency
import pytest
from pygls.lsp.client import BaseLanguageClient
from pygls.uris import from_fs_path

from yibaolang.tools.lsp import from_lsp_character, to_lsp_character

TIMEOUT = 15.0
# A whole-document change (named so since lsprotocol 2024; pygls 1.x comes with an older lsprotocol).
WHOLE_DOCUMENT = (getattr(lsp, "TextDocumentContentChangeWholeDocument", None)
                  or lsp.TextDocumentContentChangeEvent_Type2)

BASE = """\
政策 基础规定

类型 医院等级 = 选项 {三级, 二级, 一级}

输入 住院费用 : 金额 范围 0元 至 1亿元 "本次住院发生的政策范围内费用"

条款 "第三条" 起付标准
    原文 "起付标准为800元，超过部分按比例报销。"
    参数 起付标准 : 金额
        此前 1000元
        自 2020年1月1日 起 800元
    定义 起付后费用 : 金额 = 取较大(住院费用 - 起付标准, 0元)
"""

MAIN = """\
政策 主政策

引用 "基础.ybl" 作为 基础

输入 医院 : 基础.医院等级 "就诊医院的等级"

条款 "第五条" 报销比例
    原文 "三级医院报销80%，其他医院报销90%。"
    定义 比例 : 比例 =
        分情况 医院
            三级 : 80%
            其余 : 90%
    定义 报销 : 金额 = 基础.起付后费用 × 比例

条款 "第六条" 特殊人群
    原文 "𠀀 特殊人群按90%报销。"
    例外 比例 当 医院 属于 {一级} 时 = 90% 优先于 "第五条"

输出 报销
"""

BROKEN = """\
政策 错误示例
输入 个人负担 : 金额
定义 报销 : 金额 = 如果个人负担超过2万元 则 1元 否则 0元
条款 "一" 𠀀标题
    原文 "𠀀𠀀" 甲
    定义 乙 : 金额 = 1元
定义 𠀀丙 : 金额 = 1元
定义 丁 : 金额 = 个人负当 + 1元
"""


def test_utf16_columns() -> None:
    line = '    原文 "𠀀𠀀" 甲'
    assert to_lsp_character(line, 13) == 14  # 甲: 12 code points before it, two of them outside the BMP
    assert from_lsp_character(line, 14) == 13
    assert to_lsp_character("定义 报销", 4) == 3  # CJK in the BMP: one unit each
    assert to_lsp_character("𠀀", 2) == 2 and to_lsp_character("𠀀", 2, "utf-8") == 4
    for column in range(1, len(line) + 2):
        assert from_lsp_character(line, to_lsp_character(line, column)) == column


class Harness:
    """A pygls client on its own event loop, with the notifications it received."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.client = BaseLanguageClient("yibaolang-tests", "1")
        self.diagnostics: dict[str, list[Any]] = {}
        self.versions: dict[str, int | None] = {}
        self.arrived: asyncio.Event | None = None

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: Any) -> None:
            self.diagnostics[params.uri] = list(params.diagnostics)
            self.versions[params.uri] = params.version
            if self.arrived is not None:
                self.arrived.set()

    def run(self, coro: Any, timeout: float = TIMEOUT) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def uri(self, name: str) -> str:
        return str(from_fs_path(str(self.folder / name)))

    async def start(self, env: dict[str, str] | None = None) -> None:
        self.arrived = asyncio.Event()
        # `python -m yibaolang lsp`: the very command line `yibaolang lsp` runs, from this interpreter.
        await self.client.start_io(sys.executable, "-m", "yibaolang", "lsp", "--stdio", cwd=str(self.folder),
                                   env=env)
        result = await self.client.initialize_async(lsp.InitializeParams(
            process_id=os.getpid(),
            root_uri=str(from_fs_path(str(self.folder))),
            capabilities=lsp.ClientCapabilities(
                general=lsp.GeneralClientCapabilities(position_encodings=[lsp.PositionEncodingKind.Utf16]),
            ),
        ))
        self.capabilities = result.capabilities
        self.client.initialized(lsp.InitializedParams())

    async def open(self, name: str, text: str) -> list[Any]:
        uri = self.uri(name)
        assert self.arrived is not None
        self.diagnostics.pop(uri, None)
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="yibaolang", version=1, text=text)))
        return await self.wait_for(uri)

    async def wait_for(self, uri: str, version: int | None = None) -> list[Any]:
        """The diagnostics published for `uri` (for that version of it, when given)."""
        assert self.arrived is not None
        while uri not in self.diagnostics or (version is not None and self.versions.get(uri) != version):
            self.arrived.clear()
            await self.arrived.wait()
        return self.diagnostics[uri]

    async def until(self, uri: str, done: Any) -> list[Any]:
        """The diagnostics of `uri` once `done(diagnostics)` holds (the lints are published after the rest)."""
        assert self.arrived is not None
        while uri not in self.diagnostics or not done(self.diagnostics[uri]):
            self.arrived.clear()
            await self.arrived.wait()
        return self.diagnostics[uri]

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def serving(folder: Path, name: str, text: str) -> Iterator[Harness]:
    """A started server with `name` (holding `text`) open; stopped afterwards (module fixtures use it)."""
    harness = Harness(folder)
    try:
        harness.run(harness.start(), timeout=30)
        harness.run(harness.open(name, text))
        yield harness
    finally:
        try:
            harness.run(harness.stop(), timeout=10)
        finally:
            harness.loop.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    folder = tmp_path_factory.mktemp("lsp")
    (folder / "yibaolang.toml").write_text("", "utf-8")
    (folder / "基础.ybl").write_text(BASE, "utf-8")
    (folder / "主.ybl").write_text(MAIN, "utf-8")
    yield from serving(folder, "主.ybl", MAIN)


def position(text: str, needle: str, nth: int = 0, offset: int = 0) -> Any:
    """The UTF-16 position of the `nth` occurrence of `needle` in `text` (plus `offset` code points)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    line_start = text.rfind("\n", 0, at) + 1
    line_text = text[line_start:].split("\n", 1)[0]
    return lsp.Position(line=line, character=to_lsp_character(line_text, at - line_start + 1))


def doc(harness: Harness, name: str) -> Any:
    return lsp.TextDocumentIdentifier(uri=harness.uri(name))


def test_capabilities(server: Harness) -> None:
    caps = server.capabilities
    assert caps.hover_provider and caps.definition_provider and caps.references_provider
    assert caps.completion_provider is not None and caps.document_symbol_provider
    assert caps.code_action_provider
    assert caps.position_encoding in (None, lsp.PositionEncodingKind.Utf16)


def test_clean_policy_has_no_diagnostics(server: Harness) -> None:
    assert server.diagnostics[server.uri("主.ybl")] == []


def test_diagnostics_with_utf16_ranges(server: Harness) -> None:
    found = server.run(server.open("错.ybl", BROKEN))
    by_line = {d.range.start.line: d for d in found}
    glued = by_line[2]
    assert glued.code == "YB100" and glued.severity == lsp.DiagnosticSeverity.Error
    assert "连写" in glued.message and "如果 个人负担 超过 2万元" in glued.message
    assert (glued.range.start.character, glued.range.end.character) == (13, 24)
    after_wide = by_line[4]  # 甲 after two characters outside the BMP
    assert (after_wide.range.start.character, after_wide.range.end.character) == (14, 15)
    wide = by_line[6]  # 𠀀 itself: one code point, two UTF-16 units
    assert wide.code == "YB101"
    assert (wide.range.start.character, wide.range.end.character) == (3, 5)


def test_diagnostics_follow_edits(server: Harness) -> None:
    uri = server.uri("改.ybl")
    server.run(server.open("改.ybl", "输入 甲 : 金额\n定义 乙 : 金额 = 甲 + 1元\n输出 乙\n"))
    assert server.diagnostics[uri] == []
    server.diagnostics.pop(uri)
    server.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[WHOLE_DOCUMENT(
            text="输入 甲 : 金额\n定义 乙 : 金额 = 甲 + 50%\n输出 乙\n")],
    ))
    found = server.run(server.wait_for(uri, version=2))
    assert [d.code for d in found] == ["YB201"]
    assert found[0].range.start.line == 1


def test_hover_on_definition_shows_type_and_clause(server: Harness) -> None:
    result = server.run(server.client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "× 比例", offset=2))))
    text = result.contents.value
    assert "定义 比例 : 比例" in text
    assert "第五条" in text and "三级医院报销80%" in text
    assert "例外" in text and "第六条" in text


def test_hover_on_dated_parameter_lists_versions(server: Harness) -> None:
    result = server.run(server.client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "基础.起付后费用", offset=4))))
    assert "定义 起付后费用 : 金额" in result.contents.value
    assert "基础.ybl" in result.contents.value
    base = server.run(server.open("基础.ybl", BASE))
    assert [d for d in base if d.severity == lsp.DiagnosticSeverity.Error] == []
    # The lints run too (政策没有 输出), published once they are done.
    base = server.run(server.until(server.uri("基础.ybl"), lambda found: "YB532" in {d.code for d in found}))
    assert [d for d in base if d.severity == lsp.DiagnosticSeverity.Error] == []
    result = server.run(server.client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(server, "基础.ybl"), position=position(BASE, "起付标准, 0元"))))
    text = result.contents.value
    assert "参数 起付标准 : 金额" in text
    assert "此前：1000元" in text and "自 2020-01-01 起：800元" in text
    assert "起付标准为800元" in text


def test_hover_on_input_shows_its_description(server: Harness) -> None:
    result = server.run(server.client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "分情况 医院", offset=4))))
    assert "输入 医院 : 基础.医院等级" in result.contents.value
    assert "就诊医院的等级" in result.contents.value


def test_definition_across_an_import(server: Harness) -> None:
    result = server.run(server.client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "基础.起付后费用", offset=5))))
    location = result[0] if isinstance(result, list) else result
    assert location.uri == server.uri("基础.ybl")
    assert location.range.start == position(BASE, "起付后费用 :")
    # The alias leads to the imported file; an enumeration value to its 类型.
    result = server.run(server.client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "基础.起付后费用"))))
    location = result[0] if isinstance(result, list) else result
    assert location.uri == server.uri("基础.ybl") and location.range.start.line == 0
    result = server.run(server.client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "三级 :"))))
    location = result[0] if isinstance(result, list) else result
    assert location.uri == server.uri("基础.ybl")
    assert location.range.start == position(BASE, "三级")
    # A clause id after 优先于 leads to its 条款.
    result = server.run(server.client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, '"第五条"', nth=1, offset=2))))
    location = result[0] if isinstance(result, list) else result
    assert location.uri == server.uri("主.ybl") and location.range.start == position(MAIN, "第五条")


def test_references_within_the_file_and_its_imports(server: Harness) -> None:
    result = server.run(server.client.text_document_references_async(lsp.ReferenceParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "比例 : 比例"),
        context=lsp.ReferenceContext(include_declaration=True))))
    spots = sorted((loc.uri, loc.range.start.line, loc.range.start.character) for loc in result)
    main = server.uri("主.ybl")
    assert spots == sorted([
        (main, position(MAIN, "比例 : 比例").line, position(MAIN, "比例 : 比例").character),
        (main, position(MAIN, "比例\n\n条款").line, position(MAIN, "比例\n\n条款").character),
        (main, position(MAIN, "比例 当").line, position(MAIN, "比例 当").character),
    ])
    # A name declared in the imported file: found in both files.
    result = server.run(server.client.text_document_references_async(lsp.ReferenceParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "基础.起付后费用", offset=4),
        context=lsp.ReferenceContext(include_declaration=True))))
    assert {loc.uri for loc in result} == {main, server.uri("基础.ybl")}


def test_completion_offers_keywords_names_and_values(server: Harness) -> None:
    result = server.run(server.client.text_document_completion_async(lsp.CompletionParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "基础.起付后费用"))))
    items = {item.label: item for item in result.items}
    for keyword in ("如果", "分段累进", "超过", "不满", "定义"):
        assert items[keyword].kind == lsp.CompletionItemKind.Keyword
    assert items["医院"].kind == lsp.CompletionItemKind.Field
    assert items["比例"].kind == lsp.CompletionItemKind.Variable
    assert items["三级"].kind == lsp.CompletionItemKind.EnumMember
    assert items["基础"].kind == lsp.CompletionItemKind.Module
    assert "取较小" in items


def test_completion_after_an_alias_and_in_a_clause_reference(server: Harness) -> None:
    result = server.run(server.client.text_document_completion_async(lsp.CompletionParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, "基础.起付后费用", offset=3))))
    labels = {item.label for item in result.items}
    assert {"起付后费用", "起付标准", "住院费用"} <= labels and "如果" not in labels
    result = server.run(server.client.text_document_completion_async(lsp.CompletionParams(
        text_document=doc(server, "主.ybl"), position=position(MAIN, '第五条"', nth=1))))
    labels = {item.label for item in result.items}
    assert labels == {"第五条", "第六条", "第三条"}  # the imported file's clauses too


def test_completion_while_a_statement_is_half_written(server: Harness) -> None:
    text = "输入 费用 : 金额\n条款 \"一\" 标题\n    定义 自付 : 金额 = 费用 × 10%\n    定义 报销 : 金额 = 费用 - 自付\n输出 报销\n"
    uri = server.uri("半.ybl")
    server.run(server.open("半.ybl", text))
    half = text.replace("输出 报销", "    定义 合计 : 金额 = 自\n输出 报销")
    server.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[WHOLE_DOCUMENT(text=half)],
    ))
    # The clause does not parse now; its names still complete.
    result = server.run(server.client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=position(half, "= 自", offset=3))))
    labels = {item.label for item in result.items}
    assert {"自付", "报销", "费用", "如果"} <= labels


def test_document_symbols_outline(server: Harness) -> None:
    result = server.run(server.client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
        text_document=doc(server, "主.ybl"))))
    top = [(s.name, s.kind) for s in result]
    assert top[0] == ("主政策", lsp.SymbolKind.File)
    assert ("医院", lsp.SymbolKind.Field) in top
    assert ("输出", lsp.SymbolKind.Key) in top
    clauses = {s.name: s for s in result if s.kind == lsp.SymbolKind.Namespace}
    assert set(clauses) == {"第五条 报销比例", "第六条 特殊人群"}
    assert [c.name for c in clauses["第五条 报销比例"].children] == ["比例", "报销"]
    assert [c.name for c in clauses["第六条 特殊人群"].children] == ["例外 比例"]
    for symbol in result:
        start, end = symbol.range.start, symbol.range.end
        sel = symbol.selection_range
        assert (start.line, start.character) <= (sel.start.line, sel.start.character)
        assert (sel.end.line, sel.end.character) <= (end.line, end.character)


def test_code_action_fixes_the_missing_space(server: Harness) -> None:
    found = server.diagnostics[server.uri("错.ybl")]
    glued = next(d for d in found if d.code == "YB100" and d.range.start.line == 2)
    result = server.run(server.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=doc(server, "错.ybl"), range=glued.range,
        context=lsp.CodeActionContext(diagnostics=[glued]))))
    assert len(result) == 1
    action = result[0]
    assert action.kind == lsp.CodeActionKind.QuickFix and action.title == "改为 如果 个人负担 超过 2万元"
    (edit,) = action.edit.changes[server.uri("错.ybl")]
    assert edit.new_text == "如果 个人负担 超过 2万元"
    assert edit.range == glued.range


def test_code_action_did_you_mean(server: Harness) -> None:
    found = server.diagnostics[server.uri("错.ybl")]
    typo = next(d for d in found if d.code == "YB301")
    result = server.run(server.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=doc(server, "错.ybl"), range=typo.range, context=lsp.CodeActionContext(diagnostics=[typo]))))
    assert [a.edit.changes[server.uri("错.ybl")][0].new_text for a in result] == ["个人负担"]


def test_formatting_uses_the_formatter(server: Harness) -> None:
    from yibaolang.tools.lsp import _formatter

    formatter = _formatter()
    if formatter is None:
        pytest.skip("yibaolang.tools.fmt offers no format_text: the server does not format")
    assert server.capabilities.document_formatting_provider
    text = "输入 甲 : 金额\n定义 乙:金额=甲*2\n输出 乙\n"
    server.run(server.open("排.ybl", text))
    edits = server.run(server.client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=doc(server, "排.ybl"), options=lsp.FormattingOptions(tab_size=4, insert_spaces=True))))
    assert [e.new_text for e in edits] == ["输入 甲 : 金额\n定义 乙 : 金额 = 甲 × 2\n输出 乙\n"]
    assert edits[0].range.start == lsp.Position(line=0, character=0)
    assert edits[0].range.end == lsp.Position(line=3, character=0)


def test_without_pygls_the_command_says_how_to_install() -> None:
    # A stub that hides pygls, then the real command: exit 2 and the extra's name.
    code = ("import sys; sys.modules['pygls'] = None; from yibaolang.tools.cli import main; "
            "sys.argv = ['yibaolang', 'lsp']; main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "yibaolang[lsp]" in done.stderr


SCOPED = """\
引用 "费用定义.ybl"
输入 政策范围类费用 : 金额
输入 断保年数 : 年数
定义 报销 : 金额 = 如果政策范围内费用超过2万元 则 1元 否则 0元
定义 另一 : 金额 = 如果政策范围类费用超过1元 则 1元 否则 0元
定义 断保 : 是否 = 断保年数 > 0
定义 分段 : 金额 =
    分段累进 政策范围类费用
        2万元 至 10万元（含） 按 50%
输出 报销, 另一, 断保, 分段
"""


def _fixes(server: Harness, name: str, diagnostic: Any) -> list[str]:
    result = server.run(server.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=doc(server, name), range=diagnostic.range,
        context=lsp.CodeActionContext(diagnostics=[diagnostic]))))
    return [edit.new_text for action in result for edit in action.edit.changes[server.uri(name)]]


def test_declared_names_win_over_keywords_in_the_spacing_fix(server: Harness) -> None:
    (server.folder / "费用定义.ybl").write_text("输入 政策范围内费用 : 金额\n", "utf-8")
    found = server.run(server.open("范围.ybl", SCOPED))
    glued = sorted((d for d in found if d.code == "YB100"), key=lambda d: d.range.start.line)
    assert [d.range.start.line for d in glued] == [3, 4]
    # 政策 and 范围 are keywords; the names declared here and in the imported file hold them.
    assert _fixes(server, "范围.ybl", glued[0]) == ["如果 政策范围内费用 超过 2万元"]
    assert _fixes(server, "范围.ybl", glued[1]) == ["如果 政策范围类费用 超过 1元"]
    assert "如果 政策范围内费用 超过 2万元" in glued[0].message


def test_a_bare_number_gets_its_unit_as_a_quick_fix(server: Harness) -> None:
    found = server.run(server.open("单位.ybl", "输入 断保年数 : 年数\n定义 断保 : 是否 = 断保年数 > 0\n输出 断保\n"))
    (mismatch,) = [d for d in found if d.code == "YB202"]
    assert _fixes(server, "单位.ybl", mismatch) == ["0年"]


def test_hover_on_a_keyword_explains_it(server: Harness) -> None:
    server.run(server.open("键.ybl", MAIN))
    for needle, expected in (("分情况", "按一个选项的取值"), ("例外", "一般规则的例外"), ("优先于", "先后"),
                             ("属于", "一组选项之中")):
        result = server.run(server.client.text_document_hover_async(lsp.HoverParams(
            text_document=doc(server, "键.ybl"), position=position(MAIN, needle, offset=1))))
        assert result is not None and f"**{needle}**" in result.contents.value, needle
        assert expected in result.contents.value
        assert result.range.start == position(MAIN, needle)


def test_hover_on_banded_keyword(server: Harness) -> None:
    text = "输入 费用 : 金额\n定义 分段 : 金额 =\n    分段累进 费用\n        2万元 至 10万元（含） 按 50%\n输出 分段\n"
    server.run(server.open("分段.ybl", text))
    result = server.run(server.client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(server, "分段.ybl"), position=position(text, "分段累进", offset=2))))
    assert "分段计算、累加给付" in result.contents.value


def test_hover_right_after_an_edit_is_in_the_new_text(server: Harness) -> None:
    text = "输入 费用 : 金额\n定义 报销 : 金额 = 费用 × 50%\n输出 报销\n"
    uri = server.uri("移.ybl")
    server.run(server.open("移.ybl", text))
    server.run(server.client.text_document_hover_async(lsp.HoverParams(  # the index is built
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=position(text, "× 50%", offset=-3))))
    moved = "# 新的注释\n\n" + text.replace("× 50%", "× 60%")
    server.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[WHOLE_DOCUMENT(text=moved)]))
    # Answered at once, from the index of either text: the range is where the name is now.
    result = server.run(server.client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=position(moved, "费用 ×", offset=1))))
    assert "输入 费用 : 金额" in result.contents.value
    assert result.range.start == position(moved, "费用 ×")


def test_the_spacing_hint_of_check_keeps_names_declared_in_the_file() -> None:
    from yibaolang.frontend.source import from_text
    from yibaolang.frontend.syntax import parse

    text = ("输入 政策范围内费用 : 金额\n输入 政策范围类费用 : 金额\n"
            "定义 甲 : 金额 = 如果政策范围内费用超过2万元 则 1元 否则 0元\n"
            "定义 乙 : 金额 = 如果政策范围类费用超过1元 则 1元 否则 0元\n")
    _, found = parse(from_text("范围.ybl", text))
    assert [d.suggestions[0].replacement for d in found if d.code == "YB100"] == [
        "如果 政策范围内费用 超过 2万元", "如果 政策范围类费用 超过 1元"]
