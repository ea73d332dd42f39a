"""Rendering of diagnostics: carets by display width, did-you-mean, JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from yibaolang.diagnostics import Diagnostic, Severity, cell_width, closest, edit_distance, render_text
from yibaolang.ir import Span
from yibaolang.tools.cli import main


def test_caret_is_aligned_by_display_width() -> None:
    line = "    定义 合计 = 大病个人负担 + 50%"
    d = Diagnostic("YB201", Severity.ERROR, Span("p.ybl", 1, 15, 1, 28), "类型不符", "提示")
    text = render_text(d, [line]).splitlines()
    source, caret = text[1], text[2]
    # Everything before the caret must be as wide on screen as the source before column 15.
    prefix_source = source[: source.index("|") + 2]
    prefix_caret = caret[: caret.index("|") + 2]
    assert cell_width(prefix_source) == cell_width(prefix_caret)
    offset = cell_width(caret[len(prefix_caret):caret.index("^")])
    assert offset == cell_width(line[:14])
    assert caret.count("^") == cell_width(line[14:27])


def test_edit_distance_and_closest() -> None:
    assert edit_distance("断保年数", "断报年数") == 1
    assert closest("断报年数", ["断保年数", "连续参保年数"]) == "断保年数"
    assert closest("甲", ["乙"]) is None  # one character is too short to guess


def test_all_errors_in_a_file_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.ybl"
    path.write_text("输入 费用 : 金额\n定义 甲 = 费甬 × 2\n定义 乙 = 费用 + 50%\n定义 丙 = 未声明\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--format", "json", str(path)])
    assert result.exit_code == 1
    found = [(d["code"], d["line"]) for d in json.loads(result.stdout)["diagnostics"]]
    assert found == [("YB301", 2), ("YB201", 3), ("YB301", 4)]


def test_clean_file_exits_zero_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "p.ybl"
    path.write_text("输入 费用 : 金额\n定义 甲 = 费用 × 50%\n输出 甲\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0
    assert "没有发现问题" in result.output


def test_check_walks_folders(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.ybl").write_text("定义 甲 = 1\n", encoding="utf-8")
    (tmp_path / "sub" / "b.ybl").write_text("定义 乙 = 甲\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--format", "json", str(tmp_path)])
    assert result.exit_code == 1
    files = {Path(d["file"]).name for d in json.loads(result.stdout)["diagnostics"]}
    assert files == {"b.ybl"}


# ------------------------------------------------------------------ what a policy cannot do to a terminal


def test_control_sequences_in_a_source_line_are_shown_not_obeyed(tmp_path: Path) -> None:
    """ESC/CSI/OSC (set the title, clear the screen) and bidi overrides print as visible escapes."""
    path = tmp_path / "p.ybl"
    hostile = "\x1b]0;被改的标题\x07\x1b[2J\x1b[H\u202e\x9b31m\x7f"
    path.write_text(f'定义 甲 = 未知数额  # {hostile}\n原文 "{hostile}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    out = result.output
    assert not any(ch in out for ch in "\x1b\x07\u202e\x9b\x7f"), repr(out)
    assert "\\x1b]0;被改的标题\\x07\\x1b[2J" in out and "\\u202e" in out and "\\x9b" in out


def test_the_caret_still_points_at_the_name_after_shown_escapes() -> None:
    line = "\x1b[2J定义 甲 = 未知数额"
    d = Diagnostic("YB301", Severity.ERROR, Span("p.ybl", 1, 12, 1, 16), "未知的名称：未知数额")
    _, source, caret = render_text(d, [line]).splitlines()[:3]
    assert "\\x1b[2J" in source
    assert cell_width(source[: source.index("未知数额")]) == cell_width(caret[: caret.index("^")])
    assert caret.count("^") == cell_width("未知数额")


def test_escapes_in_messages_hints_and_file_names_are_shown() -> None:
    d = Diagnostic("YB310", Severity.ERROR, Span("a\x1b[31m.ybl", 1, 1, 1, 2), "找不到引用的文件：\x1b]0;x\x07",
                   "提示\u202e")
    out = render_text(d, None)
    assert "\x1b" not in out and "\u202e" not in out and "a\\x1b[31m.ybl" in out


def test_a_long_line_is_shown_as_a_window_around_the_caret() -> None:
    line = "定义 甲 = " + "1 + " * 5000 + "未知"
    column = len(line) - 1
    d = Diagnostic("YB301", Severity.ERROR, Span("p.ybl", 1, column, 1, column + 2), "未知的名称：未知")
    _, source, caret = render_text(d, [line]).splitlines()[:3]
    assert len(source) < 250 and source.endswith("未知") and "…" in source
    assert cell_width(caret[: caret.index("^")]) == cell_width(source[: source.index("未知")])


def test_json_and_sarif_carry_control_characters_escaped(tmp_path: Path) -> None:
    path = tmp_path / "p.ybl"
    path.write_text('引用 "未知\u202e\x9b.ybl"\n', encoding="utf-8")  # the path is quoted in the message
    for fmt in ("json", "sarif"):
        result = CliRunner().invoke(main, ["check", "--format", fmt, str(path)])
        assert result.exit_code == 1
        assert not any(ch in result.stdout for ch in "\u202e\x9b\x1b"), fmt
        assert "\\u202e" in result.stdout and "\\u009b" in result.stdout
        assert "\u202e" in json.dumps(json.loads(result.stdout), ensure_ascii=False)  # the data is unchanged
