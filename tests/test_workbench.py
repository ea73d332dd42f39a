"""The caseworker's workbench in a real headless Chromium (Debian's, driven by Playwright; docs/serve.md).

The browser fills the form generated from the policy's inputs, submits it,
and reads the figures; they must equal `yibaolang run --format json` for the
same case.  What-if, the diagnostics of a bad value and the printed page are
checked the same way.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api

from tests.test_serve_helpers import Server, cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ID = "tianjin_daibing"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), "apt-get install chromium (the tests never download a browser)"
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def fill_example(page: Any) -> None:
    """The example case (examples/tianjin_daibing.case.yaml), typed the way a caseworker would."""
    page.fill('input[name="大病个人负担"]', "15")
    page.select_option('select[name="大病个人负担·单位"]', "万元")
    page.fill('input[name="政策范围内费用"]', "200000")
    page.select_option('select[name="缴纳大额医疗救助费"]', "否")
    page.fill('input[name="门诊费用"]', "8000")
    page.select_option('select[name="参保类别"]', "居民")
    page.select_option('select[name="全额补助人员类别"]', "困难家庭人员")
    page.fill('input[name="个人应缴费额"]', "350")
    page.fill('input[name="当月个人账户记账金额"]', "100.05")
    page.fill('input[name="计算日期"]', "2017-03-01")


def figures(page: Any) -> dict[str, str]:
    rows = page.query_selector_all("#figures tbody tr")
    return {row.get_attribute("data-output"): row.get_attribute("data-value") for row in rows}


def test_index_lists_the_policies(browser: Any, server: Server) -> None:
    page = browser.new_page()
    page.goto(server.base + "/")
    ids = [row.get_attribute("data-id") for row in page.query_selector_all("#policies tbody tr")]
    assert ids == ["sub/示例", ID]
    page.click(f'tr[data-id="{ID}"] a')
    assert page.url.endswith(f"/p/{ID}") and "天津市大病保险待遇计算示例" in page.inner_text("h1")


def test_the_form_is_generated_from_the_inputs(browser: Any, server: Server) -> None:
    page = browser.new_page()
    page.goto(f"{server.base}/p/{ID}")
    options = page.eval_on_selector_all('select[name="参保类别"] option', "os => os.map(o => o.value)")
    assert options == ["", "职工", "居民"]
    assert page.eval_on_selector('select[name="大病个人负担·单位"]', "s => [...s.options].map(o => o.value)") == ["元", "万元"]
    assert page.get_attribute('input[name="计算日期"]', "type") == "date"
    assert "（范围 0.00元 至 100,000,000.00元）" in page.inner_text("#case-form")


def test_submitting_shows_the_cli_figures_and_the_explanation(browser: Any, server: Server, project: Path) -> None:
    page = browser.new_page()
    page.goto(f"{server.base}/p/{ID}")
    fill_example(page)
    page.click("#submit")
    page.wait_for_selector("#figures")
    printed = json.loads(cli(project, "run", "policies/tianjin_daibing.ybl", "--case", "case.yaml",
                             "--format", "json").stdout)
    assert figures(page) == {name: out["value"] for name, out in printed["outputs"].items()}
    shown = page.inner_text('#figures tr[data-output="大病保险报销"] td.num')
    assert shown == printed["outputs"]["大病保险报销"]["display"] == "70,000.00元"
    explanation = page.inner_text("#result")
    assert "分段累进" in explanation or "50%" in explanation
    assert "二、(五)" in explanation  # the clause the figure comes from
    # The form keeps what was typed, so the next change starts from this case.
    assert page.input_value('input[name="大病个人负担"]') == "15"
    assert page.input_value('select[name="大病个人负担·单位"]') == "万元"
    decision = page.inner_text("#decision-id")
    logged = [json.loads(line) for line in (project / "decisions.jsonl").read_text("utf-8").splitlines()]
    assert decision in [r["decision_id"] for r in logged]


def test_what_if_lists_what_changes(browser: Any, server: Server) -> None:
    page = browser.new_page()
    page.goto(f"{server.base}/p/{ID}")
    fill_example(page)
    page.select_option('select[name="假设·输入"]', "门诊费用")
    page.fill('input[name="假设·值"]', "5000")
    page.select_option('select[name="假设·单位"]', "元")
    page.click("#submit")
    page.wait_for_selector("#what-if")
    row = page.inner_text('#what-if tr[data-change="居民门诊报销"]')
    assert "3,000.00元" in row and "2,250.00元" in row and "-750.00元" in row
    assert figures(page)["居民门诊报销"] == "2250.00"  # the explanation shown is of the case assumed
    assert "假设：门诊费用 = 5,000.00元" in page.inner_text("#result h2")


def problems_after(browser: Any, url: str, fill: Any, name: str, value: str) -> str:
    """The problems the page lists after the case `fill` types is submitted with input `name` set to `value`."""
    page = browser.new_page()
    page.goto(url)
    fill(page)
    page.fill(f'input[name="{name}"]', value)
    page.click("#submit")
    page.wait_for_selector("#problems")
    return str(page.inner_text("#problems"))


def test_a_bad_value_is_reported_in_chinese(browser: Any, server: Server) -> None:
    problem = problems_after(browser, f"{server.base}/p/{ID}", fill_example, "门诊费用", "八千")
    assert "门诊费用" in problem and "YB403" in problem


def test_the_printed_page_has_no_controls(browser: Any, server: Server) -> None:
    page = browser.new_page()
    page.goto(f"{server.base}/p/{ID}")
    fill_example(page)
    page.click("#submit")
    page.wait_for_selector("#figures")
    page.emulate_media(media="print")
    assert not page.is_visible("#case-form") and not page.is_visible("header")
    assert page.is_visible("#figures") and page.is_visible(".print-only")
    assert "150000.00" in page.inner_text(".print-only")  # the case itself is on the printed page
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF")


def test_form_fields_and_values_follow_the_input_kinds() -> None:
    """The form generator: one widget per kind; a figure typed with its unit keeps it."""
    from yibaolang.api import load
    from yibaolang.tools.serve.workbench import case_from_form, field_for

    fields = [field_for(spec) for spec in load(Path(__file__).resolve().parent.parent / "examples"
                                               / "tianjin_daibing.ybl").inputs()]
    widgets = {f.name: f.widget for f in fields}
    assert widgets["参保类别"] == "select" and widgets["缴纳大额医疗救助费"] == "select"
    assert widgets["大病个人负担"] == "money"
    form = {"大病个人负担": "15", "大病个人负担·单位": "万元", "门诊费用": "8000元", "门诊费用·单位": "万元",
            "个人应缴费额": " ", "参保类别": "居民"}
    assert case_from_form(fields, form) == {"大病个人负担": "15万元", "门诊费用": "8000元", "参保类别": "居民"}
