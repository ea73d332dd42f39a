"""HTML and Markdown outputs escape every string from a policy or a case (docs/reliability.md).

A policy and a case full of injected markup — tags with handlers, `</script>`,
backticks, `]]>`, attribute breakers, links to `javascript:` — go through
`explain --format html`, `explain --format markdown` (turned into HTML by
markdown-it-py with raw HTML allowed, as a permissive viewer would), the
`compare` report, the `plot` page and the `coverage` report.  Each page is loaded in headless
Chromium; a script we append counts what the injection would have created,
and the test asserts it created nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from tests.runner import invoke_in
from yibaolang.tools.cli import main

# Each payload, if it were not escaped, would create an element or attribute named pwn… (handlers log
# rather than alert: a dialog would stall headless Chromium).
PAYLOADS = [
    "<img id=pwn-img src=x onerror=console.log(1)>",
    "</script><script id=pwn-script>console.log(1)</script>",
    "`<b id=pwn-tick>`",
    "``<i id=pwn-ticks>``",
    "]]><u id=pwn-cdata>x</u>",
    "' data-pwn='1",
    "<svg id=pwn-svg onload=console.log(1)>",
    "[点我](javascript:console.log(1))",
    "![图](x' onerror='console.log(1))",
    "<a id=pwn-link href=javascript:console.log(1)>x</a>",
    "<!--",
]
INJECTED = " ".join(PAYLOADS)
# A file name may hold anything but "/": backticks and a tag.
FILE_NAME = "政策``<img id=pwn-file src=x onerror=console.log(1)>`]]>.ybl"

POLICY = f'''政策 标题{INJECTED}
    说明 "说明{INJECTED}"

类型 等级 = 选项 {{一级, 二级}}

输入 费用 : 金额 范围 0元 至 100万元 "费用说明{INJECTED}"
输入 医院等级 : 等级

条款 "一{INJECTED}" 条款标题{INJECTED}
    原文 """第一行
<p id=pwn-newline>第二行 "双引号"
# 不是标题
- 不是列表 <img id=pwn-text src=x>"""
    定义 报销 : 金额 =
        分段累进 费用
            0元 至 10万元 按 50%
            10万元 至 100万元 按 60%
    定义 等级加成 : 金额 = 如果 医院等级 = 一级 则 10元 否则 0元

输出 报销, 等级加成
'''

CASE = "费用: 15万元\n医院等级: 一级\n"

PROBE = """<script>
document.documentElement.setAttribute("data-probe", JSON.stringify({
  ids: Array.from(document.querySelectorAll("[id^=pwn]")).map(e => e.id),
  attrs: document.querySelectorAll("[data-pwn]").length,
  handlers: Array.from(document.querySelectorAll("*")).filter(e =>
    Array.from(e.attributes).some(a => a.name.startsWith("on"))).length,
  js: Array.from(document.querySelectorAll("[href],[src]")).filter(e =>
    /^\\s*javascript:/i.test(e.getAttribute("href") || e.getAttribute("src") || "")).length,
  scripts: document.querySelectorAll("script").length,
}));
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("headless Chromium is needed for this test (Debian: apt-get install chromium)")


def probe(tmp_path: Path, page: str, name: str) -> dict[str, object]:
    """Load `page` (our probe appended) in headless Chromium; what the injection created."""
    import json

    path = tmp_path / f"{name}.html"
    path.write_text(page + PROBE, encoding="utf-8")
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'<html[^>]*data-probe="([^"]*)"', result.stdout)
    assert found is not None, "the probe did not run: the page is broken\n" + result.stdout[:2000]
    data: dict[str, object] = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return data


def assert_clean(tmp_path: Path, page: str, name: str) -> None:
    data = probe(tmp_path, page, name)
    # The one <script> is our probe; anything else in the list was injected.
    assert data == {"ids": [], "attrs": 0, "handlers": 0, "js": 0, "scripts": 1}, (name, data)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "项目"
    folder.mkdir()
    (folder / "yibaolang.toml").write_text("", encoding="utf-8")
    (folder / FILE_NAME).write_text(POLICY, encoding="utf-8")
    (folder / "case.yaml").write_text(CASE, encoding="utf-8")
    return folder


def run_cli(folder: Path, *args: str) -> str:
    result = invoke_in(folder, *args)
    assert result.exit_code == 0, result.output
    return result.output


def explain(folder: Path, fmt: str) -> str:
    out = folder / f"out.{fmt}"
    run_cli(folder, "explain", FILE_NAME, "--case", "case.yaml", "--format", fmt, "-o", out.name)
    return out.read_text(encoding="utf-8")


def test_the_policy_really_carries_the_payloads(project: Path) -> None:
    import json

    text = json.dumps(json.loads(explain(project, "json")), ensure_ascii=False)
    for payload in [*PAYLOADS, "<p id=pwn-newline>", "pwn-file"]:
        assert payload.replace('"', '\\"') in text, payload


def test_explain_html_escapes_everything(project: Path, tmp_path: Path) -> None:
    page = explain(project, "html")
    assert "&lt;img id=pwn-img" in page  # shown as text, not dropped
    assert_clean(tmp_path, page, "explain")


def test_explain_markdown_escapes_everything(project: Path, tmp_path: Path) -> None:
    markdown = explain(project, "markdown")
    # html=True: raw HTML in the Markdown would pass through, as on a permissive viewer.
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    assert "pwn-img" in body and "javascript:console.log(1)" in body  # the text survives, as text
    assert "<code>" in body  # the file name is still a code span
    assert_clean(tmp_path, f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{body}</body></html>',
                 "markdown")


def test_a_file_name_with_backticks_stays_one_code_span(project: Path) -> None:
    markdown = explain(project, "markdown")
    body = MarkdownIt("commonmark", {"html": True}).render(markdown)
    line = next(ln for ln in body.splitlines() if "政策文件" in ln)
    assert line.count("<code>") == 1 and "&lt;img id=pwn-file" in line


def test_compare_report_escapes_everything(project: Path, tmp_path: Path) -> None:
    other = project / "新版.ybl"
    other.write_text(POLICY.replace("按 60%", "按 70%"), encoding="utf-8")
    cases = project / "cases.csv"
    cases.write_text("费用,医院等级\n150000,一级\n50000,二级\n" + '"<img id=pwn-cell src=x>",一级\n',
                     encoding="utf-8")
    report = project / "report.html"
    old = os.getcwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(main, ["compare", FILE_NAME, other.name, "--cases", cases.name,
                                           "-o", report.name], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output  # 1: the bad row is reported, the rest compared
    page = report.read_text(encoding="utf-8")
    assert "pwn-file" in page
    assert_clean(tmp_path, page, "compare")


def test_plot_page_escapes_everything(project: Path, tmp_path: Path) -> None:
    out = project / "chart.html"
    run_cli(project, "plot", FILE_NAME, "--vary", "费用", "--from", "0元", "--to", "20万元",
            "--case", "case.yaml", "-o", out.name)
    page = out.read_text(encoding="utf-8")
    assert "pwn-img" in page
    assert_clean(tmp_path, page, "plot")


def test_coverage_report_escapes_the_document(project: Path, tmp_path: Path) -> None:
    """`coverage --format html` quotes the document's own sentences: they are text from outside too."""
    document = project / "文件.txt"
    document.write_text("一、起付线\n" + "\n".join(f"（{i}）报销比例为50%，{payload}。" for i, payload in
                                               enumerate(PAYLOADS, 1)) + "\n", encoding="utf-8")
    out = project / "coverage.html"
    old = os.getcwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(main, ["coverage", FILE_NAME, "--source", document.name, "--format", "html",
                                           "-o", out.name], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output  # 1: sentences not yet encoded
    page = out.read_text(encoding="utf-8")
    assert "pwn-img" in page
    assert_clean(tmp_path, page, "coverage")
