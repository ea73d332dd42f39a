"""The workbench's 明细 table in a real headless Chromium (docs/serve.md 经办工作台, docs/itemized.md).

A caseworker types the lines of an itemized bill into the editable table of
examples/itemized/住院结算.ybl, submits, and reads the figures, which must equal
`yibaolang run --format json` on the same case; the explanation lists the
lines grouped by 结算类别 with the catalog row that decided each.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_serve_helpers import Server, cli, serving
from tests.test_workbench import browser, problems_after  # noqa: F401 - browser: the shared Chromium fixture

ROOT = Path(__file__).resolve().parent.parent
ID = "住院结算"
LINES = [  # 编码, 数量, 单价 — the first lines of examples/itemized/在职三级.case.yaml, and a code no catalog has
    ("XJ01CAA040A001", "2", "8.50"),
    ("XJ01MAZ040B001", "6", "18.35"),
    ("003309000040000", "1", "1150.00"),
    ("NOPE0000", "3", "10.00"),
]


@pytest.fixture(scope="module")
def itemized_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("workbench-itemized")
    folder = tmp / "policies"
    folder.mkdir()
    for name in ("住院结算.ybl", "医保目录.csv"):
        shutil.copy(ROOT / "examples" / "itemized" / name, folder / name)
    (tmp / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    case = {"医院等级": "三级", "人员类别": "在职", "就诊日期": "2024-03-01",
            "明细": [{"编码": c, "数量": q, "单价": p} for c, q, p in LINES]}
    (tmp / "case.yaml").write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
    return tmp


@pytest.fixture(scope="module")
def itemized_server(itemized_project: Path) -> Iterator[Server]:
    with serving(itemized_project, "policies", "--reload-interval", "0") as running:
        yield running


def fill(page: Any) -> None:
    page.select_option('select[name="医院等级"]', "三级")
    page.select_option('select[name="人员类别"]', "在职")
    page.fill('input[name="就诊日期"]', "2024-03-01")
    for row, (code, qty, price) in enumerate(LINES[:3], 1):
        page.fill(f'input[name="明细·{row}·编码"]', code)
        page.fill(f'input[name="明细·{row}·数量"]', qty)
        page.fill(f'input[name="明细·{row}·单价"]', price)


def test_the_table_has_a_column_per_field_and_rows_grow(browser: Any, itemized_server: Server,  # noqa: F811
                                                        itemized_project: Path) -> None:
    page = browser.new_page()
    page.goto(f"{itemized_server.base}/p/{ID}")
    headers = page.eval_on_selector_all('fieldset[data-list="明细"] thead th', "hs => hs.map(h => h.innerText)")
    assert [h.split("（")[0].split(" ")[0] for h in headers] == ["行", "编码", "数量", "单价"]
    assert len(page.query_selector_all('fieldset[data-list="明细"] tbody tr')) == 3
    fill(page)
    page.click("#submit")
    page.wait_for_selector("#figures")
    # Three rows typed: two empty rows follow, and the typed cells keep their values.
    assert len(page.query_selector_all('fieldset[data-list="明细"] tbody tr')) == 5
    assert page.input_value('input[name="明细·2·单价"]') == "18.35"
    # The fourth line goes into the row that appeared; a row left empty in between is not a line.
    code, qty, price = LINES[3]
    page.fill('input[name="明细·5·编码"]', code)
    page.fill('input[name="明细·5·数量"]', qty)
    page.fill('input[name="明细·5·单价"]', price)
    page.click("#submit")
    page.wait_for_selector("#figures")
    shown = {row.get_attribute("data-output"): row.get_attribute("data-value")
             for row in page.query_selector_all("#figures tbody tr")}
    printed = json.loads(cli(itemized_project, "run", f"policies/{ID}.ybl", "--case", "case.yaml",
                             "--format", "json").stdout)
    assert shown == {name: out["value"] for name, out in printed["outputs"].items()}
    assert shown["全自费金额"] == "30.00"  # the code no catalog row has: 3 × 10.00元, all self-paid
    # The explanation lists the lines by 结算类别, each with the catalog row that decided it.
    groups = [h.get_attribute("data-group") for h in page.query_selector_all('.lines-block h3')]
    assert set(groups) == {"甲类", "乙类", "全自费"}
    self_paid = page.inner_text('table.lines[data-group="全自费"]')
    assert "NOPE0000" in self_paid and "30.00元" in self_paid
    first = page.inner_text('table.lines[data-group="甲类"]')
    assert "XJ01CAA040A001" in first and "医保目录 第 2 行" in first


def test_a_bad_cell_names_the_line_and_field(browser: Any, itemized_server: Server) -> None:  # noqa: F811
    problem = problems_after(browser, f"{itemized_server.base}/p/{ID}", fill, "明细·2·数量", "六")
    assert "明细" in problem and "第 2 行" in problem and "数量" in problem


def test_lines_from_the_form_skip_empty_rows_and_keep_units() -> None:
    from yibaolang.api import load
    from yibaolang.tools.serve.workbench import case_from_form, field_for

    fields = [field_for(spec) for spec in load(ROOT / "examples" / "itemized" / f"{ID}.ybl").inputs()]
    table = next(f for f in fields if f.name == "明细")
    assert table.widget == "records" and [c.name for c in table.columns] == ["编码", "数量", "单价"]
    form = {"明细·1·编码": "A1", "明细·1·单价": "8.5", "明细·2·编码": " ", "明细·4·编码": "B2",
            "明细·4·数量": "2", "明细·4·单价": "1万元"}
    assert case_from_form([table], form) == {"明细": [{"编码": "A1", "单价": "8.5元"},
                                                       {"编码": "B2", "数量": "2", "单价": "1万元"}]}
    assert table.rows(form) == 6 and table.rows({}) == 3
    assert case_from_form([table], {}) == {"明细": []}  # an empty bill is a bill with no lines
