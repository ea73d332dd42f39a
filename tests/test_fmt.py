"""`yibaolang fmt`: the layout rules as golden pairs, the command, and properties.

- tests/golden/fmt/NAME.in.ybl is messy input for one rule, NAME.out.ybl its
  canonical layout (`pytest --update-golden` rewrites the .out files).
- Over the seed policies, stdlib, examples, good programs and generated
  programs: formatting keeps the IR (up to positions) and is idempotent; the
  layout does not depend on how the input was spaced, indented or written
  (full-width or not); comments are kept, in order, trailing ones on their line.
"""

from __future__ import annotations

import os
import random
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import modules
from tests.test_fuzz import mutated
from yibaolang.frontend import syntax
from yibaolang.frontend.source import from_text
from yibaolang.ir import printer
from yibaolang.ir.irjson import to_json
from yibaolang.tools.cli import main
from yibaolang.tools.fmt import format_text

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "fmt"
PAIRS = sorted(GOLDEN.glob("*.in.ybl"))
CORPUS = sorted(
    p for p in [*(ROOT / "policies").rglob("*.ybl"), *(ROOT / "stdlib").glob("*.ybl"),
                *(ROOT / "examples").rglob("*.ybl"), *(ROOT / "tests" / "golden" / "check" / "good").glob("*.ybl"),
                *PAIRS]
    if not p.name.startswith("_")  # scratch files other tools may leave for a moment
)
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def shape(text: str) -> Any:
    """The IR of `text` without positions (literal spellings and words are kept: fmt must not touch them)."""
    module, diagnostics = syntax.parse(from_text("x.ybl", text))
    assert not [d for d in diagnostics if d.is_error], (diagnostics, text)

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if not k.endswith(("span", "spans")) and k != "file"}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(to_json(module))


def assert_formats_well(text: str) -> str:
    out = format_text(text)
    assert shape(out) == shape(text), out
    assert format_text(out) == out, out
    assert "\t" not in "".join(line[: len(line) - len(line.lstrip())] for line in out.split("\n"))
    return out


# ------------------------------------------------------------------ golden pairs


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.name.removesuffix(".in.ybl"))
def test_golden_layout(path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    text = path.read_text("utf-8")
    actual = assert_formats_well(text)
    assert actual != text, "a golden input should show the rule at work"
    golden(path.with_name(path.name.replace(".in.ybl", ".out.ybl")), actual)


def test_every_input_has_its_expected_output() -> None:
    outs = {p.name.removesuffix(".out.ybl") for p in GOLDEN.glob("*.out.ybl")}
    assert outs == {p.name.removesuffix(".in.ybl") for p in PAIRS}


def test_table_columns_use_display_width() -> None:
    from rich.cells import cell_len

    out = (GOLDEN / "table_two_keys.out.ybl").read_text("utf-8").split("\n")
    header = next(line for line in out if line.strip().startswith("三级医院"))
    row = next(line for line in out if line.strip().startswith("在职"))
    starts = [cell_len(header[: header.index(word)]) for word in ("三级医院", "二级医院", "社区卫生服务中心")]
    assert starts == [cell_len(row[: row.index(cell)]) for cell in ("90%", "92%", "94%")]


# ------------------------------------------------------------------ the corpus


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_keeps_ir_and_is_idempotent(path: Path) -> None:
    assert_formats_well(path.read_text("utf-8"))


@PROPERTY
@given(modules())
def test_generated_programs_keep_ir_and_are_idempotent(module: Any) -> None:
    assert_formats_well(printer.module_text(module))


# ------------------------------------------------------------------ layout independence

_FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789()<>=+-%:,.{}!*/abcxyzABC"}
_GLUE = {"LPAR", "RPAR", "COMMA", "LBRACE", "RBRACE", "COLON"}  # punctuation that needs no space beside it


def rewrite(text: str, rng: random.Random | None, comments: bool = False) -> str:
    """`text` again with other spacing, indentation, full-width forms and (optionally) comments.

    With `rng` None the rewrite is plain (one space, 4-space indentation, no comments),
    which fmt must treat exactly like any random rewrite.
    """
    source = from_text("x.ybl", text)
    lines: list[tuple[int, bool, list[Any]]] = []
    current: list[Any] = []
    depth = line_depth = 0
    header_next = header = False
    for token in syntax.parser().lex(source.text):
        if token.type in ("_NL", "_TABLE_HEADER"):
            if current:
                lines.append((line_depth, header, current))
                current = []
            header_next = token.type == "_TABLE_HEADER"
        elif token.type == "_INDENT":
            depth += 1
        elif token.type == "_DEDENT":
            depth -= 1
        else:
            if not current:
                line_depth, header, header_next = depth, header_next, False
            current.append(token)
    unit = rng.choice([1, 2, 3, 4, 5, 8]) if rng else 4
    newline = rng.choice(["\n", "\r\n"]) if rng else "\n"
    out: list[str] = []
    serial = 0

    def comment_lines() -> None:
        nonlocal serial
        if rng is None or not comments:
            return
        for _ in range(rng.choice([0, 0, 0, 1, 2, 3])):
            if rng.random() < 0.4:
                out.append(" " * rng.randrange(0, 6))
            else:
                serial += 1
                out.append(" " * rng.randrange(0, 17) + f"#c{serial} 注释（全角） ")

    comment_lines()
    for line_depth, header, tokens in lines:
        indent = (rng.randrange(0, 40) if rng else 8) if header else line_depth * unit
        pieces = [" " * indent]
        for i, token in enumerate(tokens):
            if token.type in ("STRING", "TITLE"):
                piece = source.original[token.start_pos:token.end_pos]
            else:
                piece = token.value
                if rng and rng.random() < 0.3:
                    piece = piece.translate(_FULLWIDTH)
            if i:
                kinds = {token.type, tokens[i - 1].type}
                glue = bool(kinds & _GLUE) and not kinds & {"STRING", "TITLE"}
                gaps = ([""] if glue else []) + [" ", "  ", "\t", "\u3000"]
                pieces.append(rng.choice(gaps) if rng else " ")
            pieces.append(piece)
        if rng and comments and rng.random() < 0.3:
            serial += 1
            pieces.append(rng.choice(["", " ", "   "]) + f"#t{serial} 行尾")
        elif rng and rng.random() < 0.2:
            pieces.append(rng.choice([" ", "\t"]))  # trailing whitespace
        out.append("".join(pieces))
        comment_lines()
    return newline.join(out) + newline


@st.composite
def programs(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(CORPUS)).read_text("utf-8")
    return printer.module_text(draw(modules()))


@PROPERTY
@given(programs(), st.randoms(use_true_random=False))
def test_layout_does_not_depend_on_spacing_indentation_or_full_width(text: str, rng: random.Random) -> None:
    messy = rewrite(text, rng)
    assert format_text(messy) == format_text(rewrite(text, None)), messy


@PROPERTY
@given(programs(), st.randoms(use_true_random=False))
def test_comments_are_kept_in_order_and_trailing_ones_stay_on_their_line(text: str, rng: random.Random) -> None:
    messy = rewrite(text, rng, comments=True)
    out = assert_formats_well(messy)
    assert shape(out) == shape(text)
    assert re.findall(r"#[ct]\d+", out) == re.findall(r"#[ct]\d+", messy)
    for line in out.split("\n"):
        if "#t" in line and '"' not in line:
            code, _, _ = line.partition("#t")
            assert code.strip() and code.endswith("  ") and not code.endswith("   "), line
        if "#c" in line:
            assert line.lstrip().startswith("#c") and (len(line) - len(line.lstrip())) % 4 == 0, line
            assert line.endswith("注释（全角）"), line  # inside unchanged, trailing blanks dropped
    assert "\n\n\n" not in out and not out.startswith("\n") and not out.endswith("\n\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_broken_input_is_refused_or_formatted_faithfully(text: str) -> None:
    try:
        out = format_text(text)
    except ValueError:
        return  # does not parse (or is not a policy file at all)
    assert shape(out) == shape(text)
    assert format_text(out) == out


# ------------------------------------------------------------------ the command


def run(*args: str, input: bytes | None = None) -> Any:
    result = CliRunner().invoke(main, ["fmt", *args], input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    path = tmp_path / "甲.ybl"
    path.write_bytes((GOLDEN / "spacing.in.ybl").read_bytes())
    return path


def test_check_lists_files_that_would_change_and_writes_nothing(messy: Path, tmp_path: Path) -> None:
    tidy = tmp_path / "乙.ybl"
    tidy.write_bytes((GOLDEN / "spacing.out.ybl").read_bytes())
    before = messy.read_bytes()
    result = run("--check", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [str(messy)]
    assert "1 个文件需要格式化，1 个文件无需改动" in result.stderr
    assert messy.read_bytes() == before


def test_check_passes_on_formatted_files(tmp_path: Path) -> None:
    (tmp_path / "乙.ybl").write_bytes((GOLDEN / "spacing.out.ybl").read_bytes())
    result = run("--check", str(tmp_path))
    assert result.exit_code == 0 and result.stdout == ""


def test_fmt_rewrites_in_place_atomically(messy: Path, tmp_path: Path) -> None:
    os.chmod(messy, 0o640)
    result = run(str(messy))
    assert result.exit_code == 0, result.output
    assert messy.read_bytes() == (GOLDEN / "spacing.out.ybl").read_bytes()
    assert stat.S_IMODE(messy.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [messy.name]  # no temporary file left behind
    assert run("--check", str(messy)).exit_code == 0


def test_diff_shows_the_change_and_writes_nothing(messy: Path) -> None:
    before = messy.read_bytes()
    result = run("--diff", str(messy))
    assert result.exit_code == 0
    assert result.stdout.startswith(f"--- {messy}\n+++ {messy}\n@@")
    assert "+定义 支付 = 取较小((费用 - 500元) × 50%, 3000元)\n" in result.stdout
    assert messy.read_bytes() == before
    assert run("--diff", "--check", str(messy)).exit_code == 1


def test_a_file_with_a_syntax_error_is_reported_and_left_untouched(messy: Path, tmp_path: Path) -> None:
    bad = tmp_path / "坏.ybl"
    bad.write_bytes("定义 甲 =   1\n定义 乙 = 如果个人负担超过2万元 则 1 否则 2\n".encode())
    before = bad.read_bytes()
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert "[YB100]" in result.stderr and "连写在一起" in result.stderr
    assert f"{bad}: 有语法错误，未格式化" in result.stderr
    assert bad.read_bytes() == before
    assert messy.read_bytes() == (GOLDEN / "spacing.out.ybl").read_bytes()  # the other file is still formatted


def test_a_formatter_defect_leaves_the_file_alone(messy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yibaolang.tools.fmt

    monkeypatch.setattr(yibaolang.tools.fmt, "layout", lambda source: "定义 别的 = 1\n")
    before = messy.read_bytes()
    result = run(str(messy))
    assert result.exit_code == 70 and "内部错误" in result.stderr
    assert messy.read_bytes() == before


def test_a_line_python_calls_blank_but_the_lexer_rejects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nbsp.ybl"
    path.write_bytes("定义 甲 = 1\n\u00a0\n".encode())
    result = run(str(path))
    assert result.exit_code == 1 and "[YB101]" in result.stderr
    assert path.read_bytes() == "定义 甲 = 1\n\u00a0\n".encode()


@pytest.mark.parametrize("data", [b"\xff\xfe\x00", "定义\t甲 = 1\n\t定义 乙 = 2\n".encode(), b"\xef\xbb\xbf" + "定义 甲 = 1\n".encode()])
def test_odd_files_never_crash(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "odd.ybl"
    path.write_bytes(data)
    result = run("--check", str(path))
    assert result.exit_code in (0, 1)


def test_stdin_to_stdout() -> None:
    result = run("-", input="定义 甲=（1+2）*3\n".encode())
    assert result.exit_code == 0
    assert result.stdout == "定义 甲 = (1 + 2) × 3\n"


def test_cli_start_does_not_load_the_formatter() -> None:
    code = "import sys, yibaolang.tools.cli; print(sorted(m for m in ('yibaolang.tools.fmt', 'lark') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ docs/fmt.md

DOC = (ROOT / "docs" / "fmt.md").read_text("utf-8")
_DOC_PAIRS = re.findall(r"排版前：\n\n```text\n(.*?)```\n\n排版后：\n\n```text\n(.*?)```", DOC, re.S)
# Fragments indented under a clause or a definition need that line above them to parse.
_WRAPPERS = ["", '条款 "一" 标题\n', "定义 x =\n"]


@pytest.mark.parametrize(("before", "after"), _DOC_PAIRS, ids=[str(i) for i in range(len(_DOC_PAIRS))])
def test_doc_examples_are_what_fmt_does(before: str, after: str) -> None:
    for wrapper in _WRAPPERS:
        try:
            out = format_text(wrapper + before)
        except ValueError:
            continue
        assert out == wrapper + after
        return
    pytest.fail(f"the example does not parse:\n{before}")


def test_doc_has_examples_and_its_full_policy_is_formatted() -> None:
    assert len(_DOC_PAIRS) >= 7
    full = re.findall(r"```ybl\n(.*?)```", DOC, re.S)
    assert full and all(format_text(text) == text for text in full)


def test_the_tutorials_files_are_already_formatted(tmp_path: Path) -> None:
    """What the tutorial asks the reader to type is what `fmt` would write (docs/tutorial.md, docs/fmt.md §3)."""
    from tests.test_docs import DOCS, extract

    blocks = [b for b in extract(DOCS / "tutorial.md") if b.kind == "ybl"]
    assert len(blocks) >= 2
    for block in blocks:
        path = tmp_path / "门诊统筹.ybl"
        path.write_text(block.text, encoding="utf-8")
        result = CliRunner().invoke(main, ["fmt", "--check", str(path)])
        assert result.exit_code == 0, f"{block.id} is not in fmt's form:\n{result.output}"


def test_the_readme_example_is_already_formatted(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("```\n政策 ", 1)[1].split("```", 1)[0]
    path = tmp_path / "示例.ybl"
    path.write_text("政策 " + example, encoding="utf-8")
    result = CliRunner().invoke(main, ["fmt", "--check", str(path)])
    assert result.exit_code == 0, result.output
