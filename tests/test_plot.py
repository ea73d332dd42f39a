"""`yibaolang plot` and the band charts of the explanation's HTML: exact breakpoints, clause notes,
self-contained output, errors without tracebacks, and a real render in headless Chromium."""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibaolang.checks.compiler import compile_policy
from yibaolang.engines.evaluate import evaluate
from yibaolang.engines.outcome import CaseInput
from yibaolang.outputs.letter import chromium
from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
TIANJIN = "policies/tianjin_2016.ybl"
BOUNDS = ["20000", "100000", "200000", "300000"]


pytestmark = pytest.mark.usefixtures("at_root")


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def plot_tianjin(tmp_path: Path, suffix: str = "svg", *extra: str) -> str:
    out = tmp_path / f"chart.{suffix}"
    result = cli("plot", TIANJIN, "--vary", "大病个人负担", "--from", "0元", "--to", "40万元", "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_svg_has_one_polyline_per_output(tmp_path: Path) -> None:
    text = plot_tianjin(tmp_path)
    assert text.startswith("<?xml") and 'xmlns="http://www.w3.org/2000/svg"' in text
    assert re.findall(r'<polyline class="series" data-output="([^"]+)"', text) == ["大病保险报销"]
    case = tmp_path / "case.yaml"
    case.write_text("政策范围内费用: 20万元\n缴纳大额医疗救助费: 是\n", encoding="utf-8")
    two = plot_tianjin(tmp_path, "svg", "--output", "大病保险报销", "--output", "大额医疗救助报销", "--case", str(case))
    assert re.findall(r'<polyline class="series" data-output="([^"]+)"', two) == ["大病保险报销", "大额医疗救助报销"]


def test_breakpoints_at_the_band_bounds_with_clauses(tmp_path: Path) -> None:
    text = plot_tianjin(tmp_path)
    marks = re.findall(r'<g class="breakpoint" data-x="([^"]+)" data-clause="([^"]*)">', text)
    assert [x for x, _ in marks] == BOUNDS
    assert {c for _, c in marks} == {"二、(五)"}
    for label in ("二、(五) 2万元", "二、(五) 10万元", "二、(五) 20万元", "二、(五) 30万元"):
        assert f">{label}</text>" in text
    assert "大病个人负担（万元）" in text and "大病保险报销（万元）" in text


def test_values_at_breakpoints_are_the_interpreters(tmp_path: Path) -> None:
    text = plot_tianjin(tmp_path)
    program = compile_policy(TIANJIN)
    points = re.findall(r'<circle class="point" data-output="大病保险报销" data-x="([^"]+)" data-y="([^"]+)"', text)
    assert [x for x, _ in points] == BOUNDS
    for x, y in points:
        outcome = evaluate(program, CaseInput(values={"大病个人负担": Decimal(x)}), ["大病保险报销"])
        assert outcome.ok and outcome.value("大病保险报销") == Decimal(y)
    assert [Decimal(y) for _, y in points] == [0, 40000, 100000, 170000]


def test_one_fen_either_side_of_a_bound_is_drawn(tmp_path: Path) -> None:
    from yibaolang.analysis.function import figure_function as plot

    program = compile_policy(TIANJIN)
    chart = plot(program, "大病个人负担", Decimal(0), Decimal(400000), {}, None)
    assert chart.value_at("大病保险报销", Decimal("20000.01")) == Decimal("0.01")
    assert chart.value_at("大病保险报销", Decimal("100000.01")) == Decimal("40000.01")
    assert chart.value_at("大病保险报销", Decimal("299999.99")) == Decimal("169999.99")


def test_html_page_is_self_contained(tmp_path: Path) -> None:
    html = plot_tianjin(tmp_path, "html")
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    assert "Noto Sans CJK SC" in html and "<svg" in html
    assert not re.search(r"(?i)https?://|<script|<link|@import|url\(", html)


def test_case_and_date_options(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("政策范围内费用: 20万元\n缴纳大额医疗救助费: 是\n", encoding="utf-8")
    out = tmp_path / "c.svg"
    result = cli("plot", TIANJIN, "--vary", "政策范围内费用", "--from", "0元", "--to", "50万元", "--case", str(case),
                 "--date", "2017-03-01", "--points", "50", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert re.findall(r'data-output="([^"]+)" fill="none"', text) == ["大额医疗救助报销"]
    assert re.findall(r'<g class="breakpoint" data-x="([^"]+)"', text) == ["150000", "350000"]


@pytest.mark.parametrize(("args", "message"), [
    (["--vary", "不存在的输入", "--from", "0元", "--to", "1万元"], "未知的输入"),
    (["--vary", "参保类别", "--from", "0元", "--to", "1万元"], "不是数值"),
    (["--vary", "大病个人负担", "--from", "10万元", "--to", "1万元"], "范围不对"),
    (["--vary", "大病个人负担", "--from", "0元", "--to", "2亿元"], "超出范围"),
    (["--vary", "大病个人负担", "--from", "abc", "--to", "1万元"], "--from"),
    (["--vary", "大病个人负担", "--from", "0元", "--to", "1万元", "--output", "没有这个数"], "没有这个数"),
    (["--vary", "门诊费用", "--from", "0元", "--to", "1万元", "--output", "住院起付标准"], "计算出错"),
])
def test_bad_requests_exit_1_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    result = cli("plot", TIANJIN, *args, "-o", str(tmp_path / "x.svg"))
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "x.svg").exists()


@pytest.mark.parametrize("args", [
    ["--vary", "大病个人负担", "--from", "0元", "--to", "1万元", "-o", "x.png"],
    ["--vary", "大病个人负担", "--from", "0元", "--to", "1万元", "--points", "1", "-o", "x.svg"],
    ["--from", "0元", "--to", "1万元", "-o", "x.svg"],
])
def test_bad_options_exit_2(args: list[str]) -> None:
    result = cli("plot", TIANJIN, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_explanation_html_embeds_band_chart() -> None:
    html = cli("explain", "examples/tianjin_daibing.ybl", "--case", "examples/tianjin_daibing.case.yaml",
               "--format", "html").stdout
    charts = re.findall(r'<figure class="chart">(.*?)</svg>', html, re.S)
    assert len(charts) == 1
    chart = charts[0]
    assert re.findall(r'<g class="breakpoint" data-x="([^"]+)"', chart) == BOUNDS
    assert '<g class="case-marker" data-x="150000" data-y="70000.00">' in chart
    assert ">40</text>" in chart  # 0 to 1.5 × the top finite bound (30万元 → 45万元)
    from yibaolang.analysis.function import band_charts

    program = compile_policy("examples/tianjin_daibing.ybl")
    found = band_charts(program, {"大病个人负担": Decimal(150000)}, None)["大病保险报销"]
    assert (found.low, found.high) == (0, Decimal(450000))
    assert found.value_at("大病保险报销", Decimal("300000.01")) == Decimal(170000)


LAYERED = "examples/layered_claim.ybl"


def test_layered_claim_marks_the_kinks_of_this_input(tmp_path: Path) -> None:
    """Tianjin's band edges sit on 大病个人负担 (= 政策范围内费用 − 基本医保支付 through 代入), not on this input;
    the basic insurance cap (山西 二、(三)) and the end of the 大病 bands must be marked where they really are."""
    out = tmp_path / "layered.svg"
    result = cli("plot", LAYERED, "--vary", "政策范围内费用", "--from", "0元", "--to", "50万元",
                 "--case", "examples/layered_claim.case.yaml", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    marks = re.findall(r'<g class="breakpoint" data-x="([^"]+)" data-clause="([^"]*)">', text)
    assert marks == [("1000", "二、(三)"), ("64333.32", "二、(五)"), ("101000", "二、(三)"), ("170000", "二、(五)"),
                     ("270000", "二、(五)"), ("370000", "二、(五)"), ("428000", "三、(五)3.")]
    assert ">二、(五) 10万元</text>" not in text
    program = compile_policy(LAYERED)
    base = {"政策范围外费用": Decimal(50000), "住院起付标准": Decimal(1000), "住院报销比例": Decimal("0.7")}

    def paid(x: Decimal, name: str) -> Decimal:
        outcome = evaluate(program, CaseInput(values={**base, "政策范围内费用": x}), [name])
        assert outcome.ok, outcome.diagnostics
        return Decimal(outcome.value(name))

    # the basic insurance stops at its 7万元 cap from 101000 on; 大病保险 stops at 17万元 from 370000 on
    assert paid(Decimal(101000), "基本医保支付") == 70000 and paid(Decimal(101100), "基本医保支付") == 70000
    assert paid(Decimal(100900), "基本医保支付") < 70000
    assert paid(Decimal(370000), "大病保险支付") == 170000 > paid(Decimal(369900), "大病保险支付")


EXCEPTION_POLICY = """政策 例外替代分段
输入 大病个人负担 : 金额 范围 0元 至 1亿元
条款 "二、(五)" 分段报销
    定义 大病保险报销 : 金额 =
        分段累进 大病个人负担
            2万元 至 10万元(含)  按 50%
            10万元 至 20万元(含) 按 60%
            20万元 至 30万元(含) 按 70%
条款 "三、(一)" 特殊人员
    例外 大病保险报销 当 大病个人负担 超过 12万元 时 = 15万元
输出 大病保险报销
"""


def test_explanation_chart_of_a_figure_replaced_by_an_exception(tmp_path: Path) -> None:
    """The chart shows the figure's real values (the 例外 included): its marker agrees with the explanation."""
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    (tmp_path / "p.ybl").write_text(EXCEPTION_POLICY, encoding="utf-8")
    (tmp_path / "c.yaml").write_text("大病个人负担: 15万元\n", encoding="utf-8")
    html = cli("explain", str(tmp_path / "p.ybl"), "--case", str(tmp_path / "c.yaml"), "--format", "html").stdout
    assert "<h3>大病保险报销 = 150,000.00元</h3>" in html
    (chart,) = re.findall(r'<figure class="chart">(.*?)</svg>', html, re.S)
    assert '<g class="case-marker" data-x="150000" data-y="150000">' in chart
    assert "本案：15万元 → 150,000.00元" in chart and "70,000.00元" not in chart
    marks = re.findall(r'<g class="breakpoint" data-x="([^"]+)" data-clause="([^"]*)">', chart)
    assert marks == [("20000", "二、(五)"), ("100000", "二、(五)"), ("120000", "三、(一)")]


def test_renderers_do_not_evaluate() -> None:
    """The chart drawing and the HTML renderer draw what they are handed: no evaluator, no analysis."""
    import ast

    evaluators = ("yibaolang.engines.evaluate", "yibaolang.engines.vector", "yibaolang.analysis")
    for module in ("yibaolang/outputs/render/html.py", "yibaolang/outputs/plot.py"):
        tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        if module.endswith("plot.py"):  # the chart data types come from the service
            imported.discard("yibaolang.analysis.function")
        assert not any(m.startswith(evaluators) for m in imported), (module, imported)


@st.composite
def band_tables(draw: st.DrawFn) -> list[tuple[int, int | None, int]]:
    """2–4 contiguous bands (bounds in 万元, the last one open or not) with rates in whole percent."""
    count = draw(st.integers(2, 4))
    edges = sorted(draw(st.sets(st.integers(1, 60), min_size=count, max_size=count)))
    rates = draw(st.lists(st.integers(0, 100), min_size=count, max_size=count))
    open_top = draw(st.booleans())
    bands: list[tuple[int, int | None, int]] = []
    for i in range(count - 1):
        bands.append((edges[i], edges[i + 1], rates[i]))
    bands.append((edges[-1], None if open_top else edges[-1] + draw(st.integers(1, 20)), rates[-1]))
    return bands


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bands=band_tables())
def test_breakpoints_are_where_the_rate_changes(tmp_path: Path, bands: list[tuple[int, int | None, int]]) -> None:
    """For any 分段累进, the chart's breakpoints are exactly the band edges where the paid rate changes."""
    rows = "\n".join(f"        {lo}万元 至 {hi}万元(含) 按 {rate}%" if hi is not None else f"        超过 {lo}万元 按 {rate}%"
                     for lo, hi, rate in bands)
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    policy = tmp_path / "p.ybl"
    policy.write_text(f"输入 费用 : 金额 范围 0元 至 1亿元\n定义 报销 : 金额 =\n    分段累进 费用\n{rows}\n输出 报销\n",
                      encoding="utf-8")
    program = compile_policy(policy)
    assert not program.diagnostics or all(not d.is_error for d in program.diagnostics), program.diagnostics
    from yibaolang.analysis.function import figure_function

    top = max(hi or lo for lo, hi, _ in bands)
    chart = figure_function(program, "费用", Decimal(0), Decimal(top * 15000), {}, None, ["报销"], points=60)
    rate_at: dict[int, tuple[int, int]] = {}  # edge (万元) → (rate just below, rate just above)
    for lo, hi, rate in bands:
        rate_at.setdefault(lo, (0, 0))
        rate_at[lo] = (rate_at[lo][0], rate)
        if hi is not None:
            rate_at[hi] = (rate, rate_at.get(hi, (0, 0))[1])
    expected = sorted(Decimal(edge * 10000) for edge, (below, above) in rate_at.items() if below != above)
    assert [bp.x for bp in chart.breakpoints] == expected
    for bp in chart.breakpoints:
        outcome = evaluate(program, CaseInput(values={"费用": bp.x}), ["报销"])
        assert chart.value_at("报销", bp.x) == outcome.value("报销")


# ------------------------------------------------------------------ headless Chromium


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB or RGBA PNG (standard library only)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line[j] for j in range(stride) if bpp == 3 or j % 4 != 3))
        prev = line
    return width, height, rows


def run_chromium(binary: str, tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", *args, url],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    binary = chromium()
    if binary is None:
        pytest.skip("no chromium binary")
    plot_tianjin(tmp_path, "html")
    url = (tmp_path / "chart.html").as_uri()
    dom = run_chromium(binary, tmp_path, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<polyline") == 1 and dom.stdout.count('class="breakpoint"') == 4
    shot = tmp_path / "shot.png"
    result = run_chromium(binary, tmp_path, url, f"--screenshot={shot}", "--window-size=1000,700")
    assert shot.exists(), result.stderr[-2000:]
    width, height, rows = png_pixels(shot)
    assert (width, height) == (1000, 700)
    dark = sum(1 for row in rows for i in range(0, len(row), 3) if sum(row[i:i + 3]) < 600)
    blue = sum(1 for row in rows for i in range(0, len(row), 3)
               if row[i + 2] > 140 and row[i] < 80 and row[i + 1] < 130)  # the series colour #1f5fa8
    assert dark > 2000, "the page looks blank"
    assert blue > 300, "the line was not drawn"
