"""`yibaolang explain`: golden explanations in every format, the JSON schema, what-if, self-contained HTML."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "explain"
EXAMPLE = "examples/tianjin_daibing.ybl"
EXAMPLE_CASE = "examples/tianjin_daibing.case.yaml"
SUFFIX = {"text": "txt", "json": "json", "markdown": "md", "html": "html"}
NODE_KEYS = {"name", "type", "value", "display", "formula", "clause", "source", "children"}


pytestmark = pytest.mark.usefixtures("at_root")


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node["children"]:
        yield from nodes(child)


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_explain_golden(fmt: str, golden) -> None:  # type: ignore[no-untyped-def]
    result = cli("explain", EXAMPLE, "--case", EXAMPLE_CASE, "--format", fmt)
    assert result.exit_code == 0, result.output
    golden(GOLDEN / f"tianjin_daibing.{SUFFIX[fmt]}", result.stdout)


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_what_if_golden(fmt: str, golden) -> None:  # type: ignore[no-untyped-def]
    result = cli("explain", EXAMPLE, "--case", EXAMPLE_CASE, "--format", fmt, "--output", "居民门诊报销",
                 "--output", "个人缴费", "--what-if", "门诊费用=4000元", "--what-if", "全额补助人员类别=无")
    assert result.exit_code == 0, result.output
    golden(GOLDEN / f"tianjin_daibing_what_if.{SUFFIX[fmt]}", result.stdout)


def test_json_schema_of_every_node() -> None:
    result = cli("explain", EXAMPLE, "--case", EXAMPLE_CASE, "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["schema"] == "yibaolang.explain/1"
    assert doc["policy"] == EXAMPLE and doc["date"] == "2017-03-01"
    assert doc["inputs"]["大病个人负担"] == "150000.00" and doc["inputs"]["缴纳大额医疗救助费"] is False
    assert [o["name"] for o in doc["outputs"]] == ["大病保险报销", "大额医疗救助报销", "居民门诊报销", "个人缴费",
                                                   "药店报销比例", "划入社会保障卡金额"]
    for output in doc["outputs"]:
        for node in nodes(output):
            assert NODE_KEYS <= set(node), node["name"]
            assert node["clause"] is None or set(node["clause"]) == {"id", "title", "text"}
            assert node["source"] is None or set(node["source"]) == {"file", "line"}
    first = doc["outputs"][0]
    assert first["clause"]["id"] == "二、(五)" and "分段计算、累加给付" in first["clause"]["text"]
    assert first["source"] == {"file": EXAMPLE, "line": 31}
    assert first["formula"] == "分段累进(150,000.00元)"


def explained(name: str) -> dict[str, Any]:
    doc = json.loads(cli("explain", EXAMPLE, "--case", EXAMPLE_CASE, "--format", "json", "--output", name).stdout)
    node: dict[str, Any] = doc["outputs"][0]
    return node


def test_bands_roundings_exceptions_parameters_and_not_applicable_are_explained() -> None:
    bands = [n for n in explained("大病保险报销")["children"] if n["kind"] == "band"]
    assert [(b["display"], b["formula"]) for b in bands] == [
        ("40,000.00元", "(100,000.00元 - 20,000.00元) × 50%"),
        ("30,000.00元", "(150,000.00元 - 100,000.00元) × 60%"),
        ("0.00元", "0.00元 × 70%"),
    ]
    assert bands[2]["notes"][0].startswith("不适用：")
    rescue = explained("大额医疗救助报销")
    assert any(n.startswith("不适用：缴纳大额医疗救助费 不成立") for n in rescue["notes"])
    fee = explained("个人缴费")
    exception = next(n for n in fee["children"] if n["kind"] == "exception")
    assert exception["clause"]["id"] == "三、(八)"
    assert any("替代了基本规则：个人缴费 = 个人应缴费额" in n for n in exception["notes"])
    rate = explained("药店报销比例")
    version = next(n for n in nodes(rate) if n["name"] == "居民药店报销比例")
    assert version["formula"] == "自 2017-01-01 起 50%"
    assert any("2017-03-01" in n for n in version["notes"])
    card = explained("划入社会保障卡金额")
    assert any("70.035元 → 70.04元" in n for n in card["notes"])
    outpatient = explained("居民门诊报销")
    assert any(n.startswith("封顶 3,000.00元 起作用") for n in outpatient["notes"])


def test_html_is_self_contained() -> None:
    html = cli("explain", EXAMPLE, "--case", EXAMPLE_CASE, "--format", "html").stdout
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert not re.search(r"(?i)https?://|<script|<link|@import|url\(", html)


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "说明.md"
    result = cli("explain", EXAMPLE, "--case", EXAMPLE_CASE, "--format", "markdown", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8").startswith("# 计算说明：天津市大病保险待遇计算示例")


def test_what_if_shows_changes_side_by_side() -> None:
    result = cli("explain", EXAMPLE, "--case", EXAMPLE_CASE, "--format", "json", "--what-if", "门诊费用=4000元")
    doc = json.loads(result.stdout)
    changes = {c["name"]: c for c in doc["what_if"]["changes"]}
    assert changes["居民门诊报销"]["before"] == "3000.00" and changes["居民门诊报销"]["after"] == "1750.00"
    assert changes["居民门诊报销"]["delta"] == "-1,250.00元"
    assert changes["门诊费用"]["kind"] == "input"
    assert "大病保险报销" not in changes
    bad = cli("explain", EXAMPLE, "--case", EXAMPLE_CASE, "--what-if", "门诊费=1元")
    assert bad.exit_code == 1 and "门诊费用" in bad.stderr


def test_explain_with_errors_still_explains_what_it_can(tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_text("大病个人负担: 5万元\n", encoding="utf-8")
    result = cli("explain", EXAMPLE, "--case", str(case), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert "大病保险报销" in [o["name"] for o in doc["outputs"]]
    assert {d["code"] for d in doc["diagnostics"]} == {"YB410", "YB414"}


def seed_cases() -> list[tuple[Path, Any]]:
    from yibaolang.engines.cases import load_suite

    found = []
    for suite in sorted((ROOT / "policies").rglob("*.cases.yaml")):
        policy = suite.with_name(suite.name.replace(".cases.yaml", ".ybl"))
        cases, _ = load_suite(str(suite))
        found += [(policy, case) for case in cases]
    return found


def test_traced_and_untraced_evaluations_agree_and_every_format_renders() -> None:
    """The trace is built on the same code path: it never changes a value, on every seed case."""
    from yibaolang.checks.compiler import compile_policy
    from yibaolang.engines.cases import validate
    from yibaolang.engines.evaluate import evaluate
    from yibaolang.outputs.render import FORMATS, explanation, render

    programs: dict[Path, Any] = {}
    checked = 0
    for policy, raw in seed_cases():
        program = programs.get(policy) or programs.setdefault(policy, compile_policy(policy))
        if any(d.is_error for d in program.diagnostics):
            continue
        case, problems = validate(program, raw)
        if problems:
            continue
        names = [entry.name for entry in raw.expect] or None
        fast = evaluate(program, case, names)
        traced = evaluate(program, case, names, trace=True)
        assert [(o.name, o.value, o.ok) for o in fast.outputs] == [(o.name, o.value, o.ok) for o in traced.outputs]
        assert [d.code for d in fast.diagnostics] == [d.code for d in traced.diagnostics]
        computed = [o for o in traced.outputs if o.ok]
        assert [(n.name, n.value) for n in traced.trace] == [(o.name, o.value) for o in computed]
        document = explanation(program, traced)
        for fmt in FORMATS:
            assert render(document, fmt)
        checked += 1
    assert checked >= 50
