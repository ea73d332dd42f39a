"""`yibaolang coverage`: which quantity sentences of the document a policy encodes (docs/init.md)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "documents" / "tianjin_2016.txt"
POLICY = ROOT / "policies" / "tianjin_2016.ybl"
GOLDEN = ROOT / "tests" / "golden" / "coverage"


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_tianjin_coverage_text_is_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = cli("coverage", POLICY, "--source", FIXTURE)
    assert result.exit_code == 0, result.output
    golden(GOLDEN / "tianjin_2016.txt", result.output)
    assert result.output.startswith("覆盖率 92.3%：含数值的句子 13 句，已编码 12 句")


def test_json_lists_every_sentence_with_its_status() -> None:
    result = cli("coverage", POLICY, "--source", FIXTURE, "--format", "json")
    doc = json.loads(result.output)
    assert doc["schema"] == "yibaolang.coverage/1"
    assert (doc["sentences"], doc["covered"]) == (13, 12)
    band = next(i for i in doc["items"] if "分别报销50%" in i["text"])
    assert band["status"] == "已编码" and band["quoted_by"] == ["二、(五)"] and band["missing"] == []


def test_a_fresh_skeleton_cites_every_sentence_and_encodes_none(tmp_path: Path) -> None:
    skeleton = tmp_path / "s.ybl"
    assert cli("init", FIXTURE, "-o", skeleton).exit_code == 0
    doc = json.loads(cli("coverage", skeleton, "--source", FIXTURE, "--format", "json").output)
    assert doc["covered"] == 0
    assert doc["cited"] == doc["sentences"] == 13
    assert all(i["status"] == "部分编码" and i["id_cited"] for i in doc["items"])


def test_numbers_must_appear_in_the_code_not_in_strings(tmp_path: Path) -> None:
    source = tmp_path / "办法.txt"
    source.write_text("一、起付标准\n起付标准为500元,报销比例为50%。\n", encoding="utf-8")
    policy = tmp_path / "p.ybl"
    policy.write_text('政策 某市办法\n\n输入 费用 : 金额 "不是500元"\n\n条款 "一、" 起付标准\n'
                      '    原文 "起付标准为500元,报销比例为50%。"\n    参数 起付标准 : 金额 = 500元\n'
                      "    定义 报销 : 金额 = 费用 - 起付标准\n\n输出 报销\n", encoding="utf-8")
    doc = json.loads(cli("coverage", policy, "--source", source, "--format", "json").output)
    (item,) = doc["items"]
    assert item["status"] == "部分编码"
    assert [q["text"] for q in item["missing"]] == ["50%"]


def test_html_view_escapes_the_document(tmp_path: Path) -> None:
    source = tmp_path / "办法.txt"
    source.write_text("一、<script>alert(1)</script>\n最高支付3000元&以内。\n", encoding="utf-8")
    page = tmp_path / "c.html"
    result = cli("coverage", POLICY, "--source", source, "--format", "html", "-o", page)
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'class="uncited"' in html and "3000元&amp;以内" in html
    assert '<a href="#s1">第2行</a>' in html and '<mark id="s1" class="uncited"' in html  # listed, linked to the text


def test_bad_line_range_is_a_usage_error() -> None:
    result = cli("coverage", POLICY, "--source", FIXTURE, "--lines", "9-3")
    assert result.exit_code == 2 and "应写作 A-B" in result.output


amounts = st.integers(min_value=1, max_value=99_999)
items = st.lists(
    st.tuples(st.sampled_from(["起付标准", "最高支付限额", "补助标准"]), amounts, st.integers(1, 99)),
    min_size=1, max_size=6, unique=True,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items)
def test_a_skeleton_quotes_every_quantity_sentence_of_its_document(tmp_path: Path, found: list[tuple[str, int, int]]) -> None:
    """init then coverage: every sentence with a number is cited by the clause of its own item, none encoded."""
    numerals = "一二三四五六七八九"
    text = "某市医疗保障办法\n" + "".join(
        f"{numerals[i]}、{name}\n{name}为{amount}元,报销比例为{ratio}%。\n" for i, (name, amount, ratio) in enumerate(found))
    source = tmp_path / "办法.txt"
    source.write_text(text, encoding="utf-8")
    skeleton = tmp_path / "办法.ybl"
    assert cli("init", source, "-o", skeleton, "--force").exit_code == 0
    doc = json.loads(cli("coverage", skeleton, "--source", source, "--format", "json").output)
    assert doc["sentences"] == len(found)
    assert [i["quoted_by"] for i in doc["items"]] == [[f"{numerals[i]}、"] for i in range(len(found))]
    assert all(i["status"] == "部分编码" and len(i["missing"]) == 2 for i in doc["items"])
