"""The Python API (yibaolang.api, docs/api.md): the examples of the page run, and it agrees with the CLI.

Each ```python block of docs/api.md runs in order in one namespace (from the
repository root); a `print(...)` followed by `# 结果` — on its line or alone on
the next line — must print exactly that.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibaolang.api import CaseError, load

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLE = ROOT / "examples" / "tianjin_daibing.ybl"

_PRINT = re.compile(r"^(\s*)print\((.*)\)\s*#\s(.+)$")
_BARE_PRINT = re.compile(r"^(\s*)print\((.*)\)\s*$")
_COMMENT = re.compile(r"^\s*#\s(.+)$")


def python_blocks(page: Path) -> list[tuple[int, str]]:
    blocks, lines, i = [], page.read_text("utf-8").split("\n"), 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start, i = i + 1, i + 1
            while lines[i].strip() != "```":
                i += 1
            blocks.append((start + 1, "\n".join(lines[start:i])))
        i += 1
    return blocks


def checked(source: str) -> tuple[str, int]:
    """`print(x)  # expected` → `__expect("expected", x)`; the number of checks."""
    out: list[str] = []
    lines = source.split("\n")
    count = 0
    for index, line in enumerate(lines):
        match = _PRINT.match(line)
        following = _COMMENT.match(lines[index + 1]) if index + 1 < len(lines) else None
        bare = _BARE_PRINT.match(line)
        if match:
            out.append(f"{match.group(1)}__expect({match.group(3)!r}, {match.group(2)})")
            count += 1
        elif bare and following:
            out.append(f"{bare.group(1)}__expect({following.group(1)!r}, {bare.group(2)})")
            count += 1
        else:
            out.append(line)
    return "\n".join(out), count


def test_the_examples_of_docs_api_run_and_print_what_they_say() -> None:
    blocks = python_blocks(DOCS / "api.md")
    assert len(blocks) >= 8
    failures: list[str] = []
    where = [""]

    def expect(expected: str, *values: Any) -> None:
        got = " ".join(str(v) for v in values)
        if got != expected:
            failures.append(f"docs/api.md:{where[0]}: printed {got!r}, the page says {expected!r}")

    namespace: dict[str, Any] = {"__expect": expect, "__name__": "docs_api"}
    total = 0
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        for line, source in blocks:
            where[0] = str(line)
            code, count = checked(source)
            total += count
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, f"docs/api.md:{line}", "exec"), namespace)
    finally:
        os.chdir(previous)
    assert failures == []
    assert total >= 15  # the page shows its results, and every one was checked


def test_the_checker_catches_a_wrong_comment() -> None:
    code, count = checked('print(1 + 1)  # 3\nprint("a")\n# a')
    seen: list[tuple[str, str]] = []
    exec(code, {"__expect": lambda e, *v: seen.append((e, " ".join(map(str, v))))})
    assert count == 2 and seen == [("3", "2"), ("a", "a")]


# ------------------------------------------------------------------ the same objects as the CLI


def cli_json(*args: str) -> dict[str, Any]:
    from click.testing import CliRunner

    from yibaolang.tools.cli import main

    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


CASE_FILE = ROOT / "examples" / "tianjin_daibing.case.yaml"


def test_run_and_explain_are_the_cli_documents() -> None:
    policy = load(os.path.relpath(EXAMPLE))
    from yibaolang.engines.cases import load_case_file, validate

    raw, problems = load_case_file(str(CASE_FILE))
    assert raw is not None and not problems
    case, problems = validate(policy.program, raw)
    assert not problems
    assert policy.run(case) == cli_json("run", os.path.relpath(EXAMPLE), "--case", str(CASE_FILE), "--format", "json")
    assert policy.explain(case) == cli_json("explain", os.path.relpath(EXAMPLE), "--case", str(CASE_FILE),
                                            "--format", "json")


def test_a_mapping_is_read_like_a_case_file() -> None:
    policy = load(EXAMPLE)
    given_as = [{"大病个人负担": "150000"}, {"大病个人负担": 150000}, {"大病个人负担": Decimal("150000.00")},
                {"大病个人负担": "15万元"}]
    values = {policy.case({**c, "参保类别": "居民"}).values["大病个人负担"] for c in given_as}
    assert values == {Decimal("150000")}
    assert policy.case({"参保类别": "居民"}, date=dt.date(2017, 3, 1)).date == dt.date(2017, 3, 1)


def test_a_float_is_refused_not_rounded() -> None:
    with pytest.raises(CaseError) as caught:
        load(EXAMPLE).case({"门诊费用": 0.1})
    assert caught.value.diagnostics[0].code == "YB403" and "浮点数" in caught.value.diagnostics[0].message


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    with pytest.raises(CaseError) as caught:
        load(EXAMPLE).case({"门诊费用": "1年", "参保类别": "农民", "无此输入": 1})
    found = {d.code: d.span.line for d in caught.value.diagnostics}
    assert found == {"YB403": 2, "YB404": 3, "YB402": 4}


money = st.decimals(min_value=0, max_value=10**8, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=80, deadline=None)
@given(burden=money, outpatient=st.decimals(min_value=0, max_value=10**6, places=2))
def test_the_api_equals_the_engine_for_any_amounts(burden: Decimal, outpatient: Decimal) -> None:
    """A value given as a Decimal, as its text, or as text with 元 is the same case."""
    from yibaolang.engines.evaluate import evaluate

    policy = POLICY
    base = {"参保类别": "居民", "个人应缴费额": "350元", "计算日期": "2017-03-01"}
    as_decimal = policy.run({**base, "大病个人负担": burden, "门诊费用": outpatient})
    as_text = policy.run({**base, "大病个人负担": f"{burden}元", "门诊费用": str(outpatient)})
    assert as_decimal == as_text
    outcome = evaluate(policy.program, policy.case({**base, "大病个人负担": burden, "门诊费用": outpatient}))
    assert as_decimal["outputs"]["居民门诊报销"]["value"] == f"{outcome.value('居民门诊报销'):.2f}"


POLICY = load(EXAMPLE)


def test_version_is_the_content_hash(tmp_path: Path) -> None:
    first, second = tmp_path / "a.ybl", tmp_path / "b.ybl"
    text = EXAMPLE.read_text("utf-8")
    first.write_text(text, encoding="utf-8")
    second.write_text(text, encoding="utf-8")
    assert load(first).version == load(second).version == POLICY.version
    second.write_text(text.replace("= 500元", "= 600元"), encoding="utf-8")
    assert load(second).version != POLICY.version


def test_the_version_covers_imports(tmp_path: Path) -> None:
    (tmp_path / "base.ybl").write_text("政策 基础\n参数 比例甲 : 比例 = 50%\n", encoding="utf-8")
    (tmp_path / "top.ybl").write_text('政策 顶层\n引用 "base.ybl"\n输入 费用 : 金额\n定义 报销 : 金额 = 费用 × 比例甲\n',
                                      encoding="utf-8")
    before = load(tmp_path / "top.ybl")
    assert before.run({"费用": "100元"})["outputs"]["报销"]["value"] == "50.00"
    (tmp_path / "base.ybl").write_text("政策 基础\n参数 比例甲 : 比例 = 60%\n", encoding="utf-8")
    assert load(tmp_path / "top.ybl").version != before.version
