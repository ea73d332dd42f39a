"""The decision letter (`explain --format letter`) and a person's year (`explain --cases --person`), docs/letter.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from yibaolang.outputs.letter import chromium, screenshot
from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "letter"
GOLDEN = ROOT / "tests" / "golden" / "letter"
POLICY = "examples/tianjin_daibing.ybl"
CASE = "tests/fixtures/letter/tianjin_daibing.case.yaml"


pytestmark = pytest.mark.usefixtures("at_root")


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def case_with(tmp_path: Path, *, drop: str = "", add: str = "") -> Path:
    text = (ROOT / CASE).read_text(encoding="utf-8")
    if drop:
        text = text.replace(drop, "")
    path = tmp_path / "case.yaml"
    path.write_text(text + add, encoding="utf-8")
    return path


def test_letter_is_golden_and_says_the_figures_first(golden) -> None:  # type: ignore[no-untyped-def]
    result = cli("explain", POLICY, "--case", CASE, "--format", "letter")
    assert result.exit_code == 0, result.output
    golden(GOLDEN / "tianjin_daibing.html", result.output)
    page = result.output
    assert page.index("大病保险报销：<span class=\"amount\">70,000.00元") < page.index("计算明细")
    assert "张三" in page and "JS-2017-000123" in page and "天津市社会保险基金管理中心" in page
    assert "2017年3月5日" in page  # 告知日期 from 元数据
    assert "津政发〔2016〕17号 二、(五)「深入实施大病保险制度」" in page
    assert "申请复核" in page and "行政复议" in page
    assert ".ybl" not in page and "examples/" not in page, "no file paths in a letter"
    assert "本告知书的计算没有全部完成" not in page


def test_metadata_is_not_an_input_and_run_accepts_it() -> None:
    result = cli("run", POLICY, "--case", CASE)
    assert result.exit_code == 0, result.output
    assert "大病保险报销 = 70,000.00元" in result.output


def test_metadata_problems_are_diagnostics(tmp_path: Path) -> None:
    unknown = case_with(tmp_path, add="  婚姻状况: 未婚\n")
    result = cli("explain", POLICY, "--case", unknown, "--format", "letter")
    assert result.exit_code == 0
    assert "警告[YB408]" in result.output and "未知的字段“婚姻状况”" in result.output
    bad_date = case_with(tmp_path, drop="  告知日期: 2017-03-05\n", add="  告知日期: 三月五日\n")
    result = cli("explain", POLICY, "--case", bad_date, "--format", "letter")
    assert result.exit_code == 1 and "YB405" in result.output and "告知日期" in result.output


def test_a_letter_with_errors_says_so_and_needs_partial(tmp_path: Path) -> None:
    early = case_with(tmp_path, drop="计算日期: 2017-03-01\n", add="计算日期: 2016-06-01\n")
    out = tmp_path / "letter.html"
    refused = cli("explain", POLICY, "--case", early, "--format", "letter", "-o", out)
    assert refused.exit_code == 1 and not out.exists()
    assert "未写入" in refused.output and "--partial" in refused.output
    written = cli("explain", POLICY, "--case", early, "--format", "letter", "-o", out, "--partial")
    assert written.exit_code == 1 and out.exists()
    page = out.read_text(encoding="utf-8")
    top = page.index("本告知书的计算没有全部完成")
    assert top < page.index('class="result"')
    assert re.search(r"以下数额没有算出：[^<]*药店报销比例", page)


def test_explain_o_writes_no_page_with_errors_unless_partial(tmp_path: Path) -> None:
    early = case_with(tmp_path, drop="计算日期: 2017-03-01\n", add="计算日期: 2016-06-01\n")
    out = tmp_path / "explain.html"
    assert cli("explain", POLICY, "--case", early, "--format", "html", "-o", out).exit_code == 1
    assert not out.exists()
    assert cli("explain", POLICY, "--case", early, "--format", "html", "-o", out, "--partial").exit_code == 1
    assert out.exists()


def test_a_bureau_template_is_autoescaped(tmp_path: Path) -> None:
    template = tmp_path / "本局.html"
    template.write_text("<h1>{{ title }}</h1><p>{{ meta.参保人 }}</p>{% for f in paid %}<p>{{ f.name }}</p>{% endfor %}",
                        encoding="utf-8")
    case = case_with(tmp_path, drop="  参保人: 张三\n", add="  参保人: <script>x</script>\n")
    result = cli("explain", POLICY, "--case", case, "--format", "letter", "--template", template)
    assert result.exit_code == 0, result.output
    assert "<script>" not in result.output and "&lt;script&gt;x&lt;/script&gt;" in result.output
    assert "<p>大病保险报销</p>" in result.output


def test_template_mistakes_are_diagnostics(tmp_path: Path) -> None:
    broken = tmp_path / "坏.html"
    broken.write_text("<p>\n{% if title %}\n没有结束\n", encoding="utf-8")
    result = cli("explain", POLICY, "--case", CASE, "--format", "letter", "--template", broken)
    assert result.exit_code == 1 and "YB440" in result.output and "Traceback" not in result.output
    unknown = tmp_path / "字段.html"
    unknown.write_text("{{ 没有这个字段.名称 }}", encoding="utf-8")
    result = cli("explain", POLICY, "--case", CASE, "--format", "letter", "--template", unknown)
    assert result.exit_code == 1 and "YB441" in result.output


def test_person_year_in_date_order_with_running_totals(golden) -> None:  # type: ignore[no-untyped-def]
    result = cli("explain", "policies/huangshi_2010.ybl", "--cases", FIXTURES / "huangshi_claims.csv",
                 "--person", "420200195001011234", "--output", "统筹基金支付", "--output", "大额统筹支付")
    assert result.exit_code == 0, result.output
    golden(GOLDEN / "huangshi_year.txt", result.output)
    order = [m.group(1) for m in re.finditer(r"文件中第 (\d) 条理赔", result.output, re.MULTILINE)]
    assert order == ["3", "1", "4", "5"]  # by date, the 2012 claim in a new 统筹年度
    assert "累计 年度已支付：97,560.00元 → 120,000.00元" in result.output
    assert "统筹基金支付：达到剩余最高支付限额 22,440.00元" in result.output
    assert "累计 年度已支付：0.00元 → 8,280.00元" in result.output


def test_person_year_html_and_unknown_person(tmp_path: Path) -> None:
    out = tmp_path / "year.html"
    result = cli("explain", "policies/huangshi_2010.ybl", "--cases", FIXTURES / "huangshi_claims.csv",
                 "--person", "420200195001011234", "--format", "html", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("<tr>") == 5  # the header and four claims
    missing = cli("explain", "policies/huangshi_2010.ybl", "--cases", FIXTURES / "huangshi_claims.csv",
                  "--person", "1", "--person-column", "身份证号")
    assert missing.exit_code == 1 and "没有 1 的理赔" in missing.output


def test_letter_prints_to_pdf_and_renders_in_chromium(tmp_path: Path) -> None:
    assert chromium() is not None, "headless Chromium is needed (Debian: apt-get install chromium fonts-noto-cjk)"
    out = tmp_path / "告知书.pdf"
    result = cli("explain", POLICY, "--case", CASE, "--format", "letter", "-o", out)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert 1 <= pages <= 3
    png = screenshot(cli("explain", POLICY, "--case", CASE, "--format", "letter").output)
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # a drawn page, not a blank one


def test_printed_explanation_does_not_keep_whole_trees_together() -> None:
    """`li {break-inside: avoid}` kept a figure's whole tree on one page and left page 1 half empty;
    only a figure's own lines, charts and table rows stay together now."""
    page = cli("explain", POLICY, "--case", "examples/tianjin_daibing.case.yaml", "--format", "html").output
    css = page.split("@media print", 1)[1].split("</style>", 1)[0]
    assert "li {" not in css and "li{" not in css
    assert ".fig, .formula, .note, figure.chart, tr { break-inside: avoid; }" in css


def test_metadata_in_a_json_case_and_a_metadata_that_is_not_a_mapping(tmp_path: Path) -> None:
    good = tmp_path / "案例.json"
    good.write_text('{"计算日期": "2017-03-01", "大病个人负担": "15万元", "元数据": {"参保人": "李四"}}', encoding="utf-8")
    letter = cli("explain", POLICY, "--case", good, "--format", "letter", "--output", "大病保险报销")
    assert letter.exit_code == 0, letter.output
    assert "<p>李四：</p>" in letter.output
    bad = tmp_path / "坏.json"
    bad.write_text('{"大病个人负担": "15万元", "元数据": "张三"}', encoding="utf-8")
    for command in (["run"], ["explain", "--format", "letter"]):
        result = cli(command[0], POLICY, "--case", bad, *command[1:], "--output", "大病保险报销")
        assert result.exit_code == 1
        assert result.output.count("YB408") == 1 and "元数据应为“字段: 值”的映射" in result.output
        assert "YB402" not in result.output


def test_an_explanation_page_with_errors_says_so_at_the_top(tmp_path: Path) -> None:
    early = case_with(tmp_path, drop="计算日期: 2017-03-01\n", add="计算日期: 2016-06-01\n")
    page = cli("explain", POLICY, "--case", early, "--format", "html").output
    top = page.index("计算有错误，下面的结果不完整")
    assert top < page.index("<h2>输入</h2>") < page.index("<h2>问题</h2>")
    # the 结果 table lists the figures that failed instead of leaving them out
    assert '<tr><td>药店报销比例</td><td class="num problem">未算出</td></tr>' in page


def test_chart_lines_stay_below_the_breakpoint_labels() -> None:
    """The clause labels of a band chart stand in a band at the top; no series point enters it."""
    page = cli("explain", POLICY, "--case", "examples/tianjin_daibing.case.yaml", "--format", "html").output
    chart = page[page.index("<svg"):page.index("</svg>")]
    label_bottom = max(float(y) for y in re.findall(r'class="breakpoint-label" x="[^"]+" y="([^"]+)"', chart))
    points = re.search(r'<polyline class="series"[^>]* points="([^"]+)"', chart)
    assert points is not None
    highest = min(float(pair.split(",")[1]) for pair in points.group(1).split())
    assert highest > label_bottom + 3
    assert chart.index("<polyline") < chart.index('class="breakpoint-label"'), "labels drawn over the lines"


def test_a_layered_claim_cites_each_layers_own_policy() -> None:
    page = cli("explain", "examples/layered_claim.ybl", "--case", "examples/layered_claim.case.yaml",
               "--format", "letter").output
    reasons = dict(re.findall(r'<p class="reason">(\S+) [^：]*：(.*?)</p>', page))
    assert reasons["基本医保支付"].startswith("依据晋政发〔2017〕36号 二、(三)")
    assert reasons["大病保险支付"].startswith("依据津政发〔2016〕17号 二、(五)")
    assert reasons["补充保险支付"].startswith("依据丽政办发〔2020〕80号 三、(五)3.")
    assert reasons["个人自付"].startswith("计算为")  # no clause of its own, and none borrowed


def test_what_if_is_not_for_letters() -> None:
    result = cli("explain", POLICY, "--case", CASE, "--format", "letter", "--what-if", "门诊费用=1元")
    assert result.exit_code == 2 and "--what-if 不能与 --format letter" in result.output
