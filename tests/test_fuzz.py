"""No input ever produces a traceback: random text, mutated programs and
generated programs all go through `yibaolang check` and end in exit 0 or 1.

Also: printing generated IR and parsing it back gives the same IR.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import modules
from yibaolang.frontend import syntax
from yibaolang.frontend.source import from_text
from yibaolang.ir import printer
from yibaolang.ir.irjson import to_json
from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "tests" / "golden" / "check" / "good").glob("*.ybl")) + sorted(
    (ROOT / "policies").glob("*.ybl"))
FRAGMENTS = ["定义 ", "输入 ", "条款 ", "原文 ", "如果 ", " 则 ", " 否则 ", "分段累进 ", "查表 (", "分档 ",
             "例外 ", " 当 ", " 时 = ", "2万元", "50%", "3个月", "2025-01-01", "(含)", "：", "（", "）",
             "\n    ", "\n", "\t", "\"", "\"\"\"", "#", "费用", " × ", " ÷ ", " 封顶 ", "{", "}", "引用 \"",
             "输出 ", "样例 \"", "期望 ", "9" * 30, "\ufeff", "\x00", "\ud7ff", "𠀀", "\r\n", "\u3000"]

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])


def run_check(tmp_path: Path, text: str | bytes) -> Any:
    path = tmp_path / "fuzz.ybl"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(text)
    result = CliRunner().invoke(main, ["check", "--format", "json", str(path)])
    assert result.exit_code in (0, 1), (result.exit_code, result.output, text)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "内部错误" not in result.output, text
    return result


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=60).map("".join))
def test_random_text_never_crashes(tmp_path: Path, text: str) -> None:
    run_check(tmp_path, text)


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    run_check(tmp_path, data)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    source = draw(st.sampled_from(SAMPLES)).read_text("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        if not source:
            break
        at = draw(st.integers(0, len(source) - 1))
        action = draw(st.sampled_from(["delete", "insert", "duplicate_line", "swap"]))
        if action == "delete":
            end = min(len(source), at + draw(st.integers(1, 12)))
            source = source[:at] + source[end:]
        elif action == "insert":
            source = source[:at] + draw(st.sampled_from(FRAGMENTS)) + source[at:]
        elif action == "duplicate_line":
            lines = source.split("\n")
            i = at % len(lines)
            lines.insert(i, lines[i])
            source = "\n".join(lines)
        else:
            other = draw(st.integers(0, len(source) - 1))
            a, b = sorted((at, other))
            source = source[:a] + source[b:b + 1] + source[a + 1:b] + source[a:a + 1] + source[b + 1:]
    return source


@FUZZ
@given(mutated())
def test_mutated_programs_never_crash(tmp_path: Path, text: str) -> None:
    run_check(tmp_path, text)


@FUZZ
@given(modules())
def test_generated_programs_never_crash(tmp_path: Path, module: Any) -> None:
    run_check(tmp_path, printer.module_text(module))


def _shape(node: Any) -> Any:
    """The IR without positions or the drafter's literal spelling."""
    data = to_json(node)

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            if x.get("node") == "Literal" and x["kind"] in ("金额", "比例", "数"):
                x = {**x, "value": str(Decimal(x["value"]).normalize())}
            return {k: strip(v) for k, v in x.items()
                    if not k.endswith(("span", "spans")) and k not in ("text", "file")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(data)


@settings(max_examples=80, deadline=None)
@given(modules())
def test_printed_ir_parses_back_to_the_same_ir(module: Any) -> None:
    text = printer.module_text(module)
    parsed, diagnostics = syntax.parse(from_text("generated.ybl", text))
    assert [d for d in diagnostics if d.code.startswith("YB1")] == [], text
    assert _shape(parsed) == _shape(module), text
