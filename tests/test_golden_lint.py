"""Golden files for the lints (YB5xx): a bad and a good program for every code.

tests/golden/lint/bad/YBnnn_*.ybl must report YBnnn, with the output of
`yibaolang check` pinned in the .out beside it; tests/golden/lint/good/*.ybl
are the fixed versions and must check without any finding.  lib_* files are
cited or imported by others and not checked on their own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from tests.runner import invoke_in
from yibaolang import ir

HERE = Path(__file__).resolve().parent
LINT = HERE / "golden" / "lint"
BAD = LINT / "bad"
GOOD = LINT / "good"
BAD_FILES = sorted(p for p in BAD.glob("*.ybl") if not p.name.startswith("lib_"))
GOOD_FILES = sorted(p for p in GOOD.glob("*.ybl") if not p.name.startswith("lib_"))


def run_in(folder: Path, *args: str) -> tuple[int, str, str]:
    """The CLI run with `folder` as the working directory: exit code, stdout, stderr."""
    result = invoke_in(folder, *args)
    return result.exit_code, result.stdout, result.stderr


def code_of(path: Path) -> str:
    return path.stem.split("_", 1)[0]


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_lint_program(path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_in(BAD, "check", path.name)
    assert f"[{code_of(path)}]" in out, out
    assert "Traceback" not in out
    # check exits 1 exactly when there is an error.
    assert code == (1 if "错误[" in out else 0), out
    golden(path.with_suffix(".out"), out)


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda p: p.stem)
def test_good_lint_program(path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_in(GOOD, "check", "--strict", path.name)
    assert code == 0, out
    assert "[YB" not in out, out
    golden(path.with_suffix(".out"), out)


def lint_codes() -> set[str]:
    source = "".join(p.read_text("utf-8") for p in [*(HERE.parent / "yibaolang" / "analysis" / "lint").glob("*.py"), HERE.parent / "yibaolang" / "analysis" / "search.py"])
    return set(re.findall(r'"(YB5\d\d)"', source))


def test_every_lint_code_has_a_bad_and_a_good_program() -> None:
    emitted = lint_codes()
    assert {"YB540", "YB542", "YB543", "YB570", "YB571", "YB580", "YB581", "YB582"} <= emitted
    bad = {code_of(p) for p in BAD_FILES}
    good = {code_of(p) for p in GOOD_FILES}
    assert emitted - bad == set()
    assert emitted - good == set()


def test_lint_codes_are_documented() -> None:
    text = (HERE.parent / "docs" / "lints.md").read_text("utf-8")
    missing = {c for c in lint_codes() | {"YB590", "YB592"} if f"### {c}" not in text}
    assert missing == set()


# ------------------------------------------------------------------ seed policies and the constraint fixture


def test_seed_policies_are_clean() -> None:
    code, out, err = run_in(HERE.parent, "check", "--strict", "policies", "stdlib", "examples")
    assert code == 0, out + err
    assert "[YB" not in out


def test_municipal_fixture_breaks_two_provincial_constraints() -> None:
    code, out, _ = run_in(HERE.parent, "check", "tests/fixtures/constraints/violates_guangdong.ybl")
    assert code == 1
    found = [line for line in out.splitlines() if "[YB570]" in line]
    assert len(found) == 2, out
    assert "条款 第六条" in found[0] and "居民统筹基金支付比例" in found[0] and "条款 一、(一)" in found[0]
    assert "50%" in found[0] and "三级" in found[0]
    assert "条款 第七条" in found[1] and "居民年度最高支付限额" in found[1] and "6万元" in found[1]
    assert out.count("参见 policies/guangdong_2009.ybl") == 2


def test_example_city_meets_the_provincial_constraints() -> None:
    code, out, _ = run_in(HERE.parent, "check", "--strict", "policies/examples/example_city_2010.ybl")
    assert code == 0, out


# ------------------------------------------------------------------ suppression, configuration, --strict


def test_suppression_comment(tmp_path: Path) -> None:
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    text = (BAD / "YB531_unused_definition.ybl").read_text("utf-8")
    (tmp_path / "a.ybl").write_text(text, encoding="utf-8")
    code, out, _ = run_in(tmp_path, "check", "a.ybl")
    assert "[YB531]" in out
    (tmp_path / "a.ybl").write_text(text.replace("费用 × 60%", "费用 × 60%  # 忽略 YB531 留作比较"), encoding="utf-8")
    code, out, _ = run_in(tmp_path, "check", "--strict", "a.ybl")
    assert code == 0 and "[YB531]" not in out, out


def test_suppression_of_another_code_keeps_the_finding(tmp_path: Path) -> None:
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    text = (BAD / "YB531_unused_definition.ybl").read_text("utf-8")
    (tmp_path / "a.ybl").write_text(text.replace("费用 × 60%", "费用 × 60%  # 忽略 YB530"), encoding="utf-8")
    _, out, _ = run_in(tmp_path, "check", "a.ybl")
    assert "[YB531]" in out


def test_pyproject_configuration(tmp_path: Path) -> None:
    for name in ("YB531_unused_definition.ybl", "YB502_bands_gap.ybl", "YB581_payment_exceeds_expense.ybl"):
        (tmp_path / name).write_text((BAD / name).read_text("utf-8"), encoding="utf-8")
    code, out, _ = run_in(tmp_path, "check", ".")
    assert code == 0 and "[YB531]" in out and "警告[YB502]" in out
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "某市政策"\n\n[tool.yibaolang]\ndisable = ["YB531"]\n'
        '"payment-words" = ["补助"]\n\n[tool.yibaolang.severity]\nYB502 = "error"\n', encoding="utf-8")
    code, out, _ = run_in(tmp_path, "check", ".")
    assert "[YB531]" not in out
    assert "错误[YB502]" in out
    assert "[YB581]" not in out  # 门诊报销 is no payment with payment-words = ["补助"]
    assert code == 1


def test_strict_turns_warnings_into_failures() -> None:
    code, _, _ = run_in(BAD, "check", "YB502_bands_gap.ybl")
    assert code == 0
    code, _, _ = run_in(BAD, "check", "--strict", "YB502_bands_gap.ybl")
    assert code == 1
    code, _, _ = run_in(BAD, "check", "--strict", "YB522_rows_mergeable.ybl")
    assert code == 0  # 提示 (info) never fails


def test_search_is_deterministic() -> None:
    first = run_in(BAD, "check", "YB580_assertion_broken.ybl", "YB582_payment_falls.ybl")
    second = run_in(BAD, "check", "YB580_assertion_broken.ybl", "YB582_payment_falls.ybl")
    assert first == second


# ------------------------------------------------------------------ SARIF


def test_sarif_shape() -> None:
    code, out, _ = run_in(BAD, "check", "--format", "sarif", "YB570_breaks_provincial_floor.ybl",
                          "YB502_bands_gap.ybl", "YB522_rows_mergeable.ybl")
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == "2.1.0" and "sarif" in doc["$schema"]
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "yibaolang"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert sorted(rule_ids) == ["YB502", "YB522", "YB570"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"YB502": "warning", "YB522": "note", "YB570": "error"}
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith(".ybl")
        region = location["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) > (region["startLine"], region["startColumn"])
    constraint = next(r for r in run["results"] if r["ruleId"] == "YB570")
    related = constraint["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert related.endswith("lib_provincial.ybl")


def test_sarif_without_findings_is_a_valid_log() -> None:
    code, out, _ = run_in(GOOD, "check", "--format", "sarif", "YB501_bands_contiguous.ybl")
    assert code == 0
    doc = json.loads(out)
    assert doc["runs"][0]["results"] == []


# ------------------------------------------------------------------ counterexample files


@pytest.mark.parametrize(("name", "reproduced"), [
    ("YB580_assertion_broken.ybl", "[YB415]"),
    ("YB540_exception_conflict.ybl", "[YB412]"),
])
def test_counterexample_reproduces_a_failure(tmp_path: Path, name: str, reproduced: str) -> None:
    folder = tmp_path / "反例"
    run_in(BAD, "check", "--counterexamples", str(folder), name)
    files = sorted(folder.glob("*.case.yaml"))
    assert [f.name for f in files] == [f"{code_of(Path(name))}-1.case.yaml"]
    code, out, err = run_in(BAD, "run", name, "--case", str(files[0]))
    assert code == 1
    assert reproduced in out + err


def test_counterexample_reproduces_a_payment_above_the_expense(tmp_path: Path) -> None:
    run_in(BAD, "check", "--counterexamples", str(tmp_path), "YB581_payment_exceeds_expense.ybl")
    case = tmp_path / "YB581-1.case.yaml"
    import yaml

    data = yaml.safe_load(case.read_text("utf-8"))
    code, out, _ = run_in(BAD, "run", "YB581_payment_exceeds_expense.ybl", "--case", str(case), "--format", "json")
    assert code == 0
    paid = float(json.loads(out)["outputs"]["门诊报销"]["value"])
    spent = float(str(data["费用"]).rstrip("元").replace("万", "")) * (10000 if "万" in str(data["费用"]) else 1)
    assert paid > spent


def test_counterexample_reproduces_a_falling_payment(tmp_path: Path) -> None:
    run_in(BAD, "check", "--counterexamples", str(tmp_path), "YB582_payment_falls.ybl")
    case = (tmp_path / "YB582-1.case.yaml").read_text("utf-8")
    assert "费用" in case
    code, out, _ = run_in(BAD, "run", "YB582_payment_falls.ybl", "--case", str(tmp_path / "YB582-1.case.yaml"))
    assert code == 0 and "住院报销 = 5,000.01元" in out
    lower = tmp_path / "lower.case.yaml"
    lower.write_text('费用: "1万元"\n', encoding="utf-8")
    code, out, _ = run_in(BAD, "run", "YB582_payment_falls.ybl", "--case", str(lower))
    assert "住院报销 = 8,000.00元" in out


def test_constraint_counterexample_names_the_combination(tmp_path: Path) -> None:
    run_in(BAD, "check", "--counterexamples", str(tmp_path), "YB570_breaks_provincial_floor.ybl")
    files = sorted(p.name for p in tmp_path.glob("*.case.yaml"))
    assert files == ["YB570-1.case.yaml", "YB570-2.case.yaml"]
    code, out, _ = run_in(BAD, "run", "YB570_breaks_provincial_floor.ybl", "--case", str(tmp_path / files[0]))
    assert code == 0 and "统筹基金支付比例 = 75%" in out


# ------------------------------------------------------------------ --prove


def test_check_without_prove_never_imports_z3() -> None:
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from yibaolang.tools.cli import main\n"
        f"CliRunner().invoke(main, ['check', {str(BAD / 'YB582_payment_falls.ybl')!r}])\n"
        "assert 'z3' not in sys.modules, 'z3 imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_prove_without_z3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from yibaolang.analysis import prove

    monkeypatch.setattr(prove, "available", lambda: False)
    code, _, err = run_in(GOOD, "check", "--prove", "YB582_payment_by_bands.ybl")
    assert code == 2
    assert "pip install 'yibaolang[prove]'" in err


def test_prove_proves_the_properties() -> None:
    import z3  # noqa: F401 - the prove extra is a test dependency
    code, out, _ = run_in(GOOD, "check", "--prove", "YB582_payment_by_bands.ybl", "YB580_assertion_holds.ybl")
    assert code == 0, out
    proved = [line for line in out.splitlines() if "[YB590]" in line]
    assert any("住院报销 不超过 费用" in line for line in proved), out
    assert any("费用 增加时 住院报销 不减少" in line for line in proved), out
    assert any("每年最多报销15万元" in line for line in proved), out
    assert all("已证明（舍入按精确计算）" in line for line in proved)


def test_prove_returns_a_counterexample(tmp_path: Path) -> None:
    import z3  # noqa: F401 - the prove extra is a test dependency

    from yibaolang.analysis.prove import prove
    from yibaolang.analysis.search import counterexample_of
    from yibaolang.checks.compiler import compile_policy

    program = compile_policy(BAD / "YB582_payment_falls.ybl")
    found = {d.code: d for d in prove(program)}
    assert found["YB590"].message.startswith("已证明")  # 住院报销 不超过 费用
    falling = found["YB582"]
    assert "证明不成立（舍入按精确计算）" in falling.message
    case = counterexample_of(falling)
    assert case is not None and "费用" in case
    (tmp_path / "ce.case.yaml").write_text(case, encoding="utf-8")
    code, out, _ = run_in(BAD, "run", "YB582_payment_falls.ybl", "--case", str(tmp_path / "ce.case.yaml"))
    assert code == 0 and "住院报销 = " in out


def test_prove_reports_what_is_outside_the_fragment(tmp_path: Path) -> None:
    import z3  # noqa: F401 - the prove extra is a test dependency
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    (tmp_path / "p.ybl").write_text(
        "输入 费用 : 金额 范围 0元 至 100万元\n"
        "输入 报销比例 : 比例 范围 0% 至 100%\n"
        "定义 报销 : 金额 = 费用 × 报销比例\n"
        "输出 报销\n", encoding="utf-8")
    code, out, _ = run_in(tmp_path, "check", "--prove", "p.ybl")
    assert code == 0
    assert "提示[YB592]: 无法证明：" in out and "（不在分段线性片段内）" in out


def test_prove_finds_a_broken_assertion() -> None:
    import z3  # noqa: F401 - the prove extra is a test dependency
    code, out, _ = run_in(BAD, "check", "--prove", "YB580_assertion_broken.ybl")
    assert code == 1
    assert "[YB580]" in out


MULTI_LIB = """政策 乙
输入 费用 : 金额 范围 0元 至 100万元
输入 比例 : 比例 范围 0% 至 100%
定义 基数 : 金额 = 费用 保底 0元
定义 报销 : 金额 = 基数 × 比例 封顶 基数
"""


def multi_import(i: int) -> str:
    """One module imported three times with different 代入 (each 引用 is its own instance)."""
    return f"""政策 甲{i}
引用 "b.ybl" 作为 份0
    代入 费用 = 总费用
    代入 比例 = {i}0%
引用 "b.ybl" 作为 份1
    代入 费用 = 总费用 + 总费用
    代入 比例 = 60%
引用 "b.ybl" 作为 份2
    代入 费用 = 1元
    代入 比例 = 70%
输入 总费用 : 金额 范围 0元 至 10万元
定义 合计 : 金额 = 份0.报销 + 份1.报销 + 份2.报销
断言 份0.报销 不超过 总费用 × {i}0% "份0"
断言 份1.报销 不低于 总费用 "份1"
断言 份2.报销 不超过 1元 "份2"
断言 合计 不低于 总费用 "合计"
断言 合计 不超过 总费用 + 总费用 + 总费用 + 1元 "合计上限"
输出 合计
"""


def test_prove_over_files_importing_one_module_several_times(tmp_path: Path) -> None:
    """Memos are keyed on the instance (引用 site chain), not on the id() of a short-lived dict:
    every true assertion of every file is proved, whatever else ran in the process."""
    import z3  # noqa: F401 - the prove extra is a test dependency

    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    (tmp_path / "b.ybl").write_text(MULTI_LIB, encoding="utf-8")
    names = []
    for i in (1, 2, 3, 4):
        (tmp_path / f"a{i}.ybl").write_text(multi_import(i), encoding="utf-8")
        names.append(f"a{i}.ybl")
    for order in (names, names[::-1]):
        code, out, _ = run_in(tmp_path, "check", "--prove", *order)
        assert code == 0, out
        assert "YB592" not in out and "YB580" not in out, out
        assert out.count("[YB590]") == 5 * len(names), out


def test_translator_memo_has_one_entry_per_instance(tmp_path: Path) -> None:
    import z3

    from yibaolang.analysis import search
    from yibaolang.analysis.prove import Translator
    from yibaolang.checks.compiler import compile_policy

    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    (tmp_path / "b.ybl").write_text(MULTI_LIB, encoding="utf-8")
    (tmp_path / "a.ybl").write_text(multi_import(1), encoding="utf-8")
    program = compile_policy(tmp_path / "a.ybl")
    tr = Translator(z3, program, {"总费用": z3.Real("n:总费用")})
    tr.expr(ir.Name("合计", None, ir.NO_SPAN), search.at_root(program))
    keys = [inst for (symbol, inst) in tr.memo if symbol[1] == "报销"]
    assert len(keys) == 3 and len(set(keys)) == 3
    assert sorted(k.text.rsplit("@", 1)[1] for k in keys) == [f"{tmp_path / 'a.ybl'}:{line}:1" for line in (2, 5, 8)]


def test_prove_follows_the_exception_conflict_rule(tmp_path: Path) -> None:
    """Two 例外 that both hold with different values are a conflict (YB412, an evaluation error), not "the first
    one wins": the prover assumes evaluation succeeds, as for every other evaluation error."""
    import z3  # noqa: F401 - the prove extra is a test dependency

    from yibaolang.analysis.prove import prove
    from yibaolang.checks.compiler import compile_policy
    from yibaolang.engines.evaluate import evaluate
    from yibaolang.engines.outcome import CaseInput

    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    (tmp_path / "p.ybl").write_text(
        "输入 费用 : 金额 范围 0元 至 10万元\n"
        "定义 报销 : 金额 = 0元\n"
        "条款 \"乙\" 后一条\n"
        "    例外 报销 当 费用 超过 6万元 时 = 2元\n"
        "条款 \"甲\" 前一条\n"
        "    例外 报销 当 费用 超过 5万元 时 = 1元\n"
        "断言 报销 不超过 1元 \"至多一元\"\n"
        "输出 报销\n", encoding="utf-8")
    program = compile_policy(tmp_path / "p.ybl")
    outcome = evaluate(program, CaseInput({"费用": Decimal(70000)}), ["报销"])
    assert [d.code for d in outcome.diagnostics if d.is_error] == ["YB412"]
    found = [d for d in prove(program) if "至多一元" in d.message]
    assert [d.code for d in found] == ["YB590"], [d.message for d in found]


def test_each_instance_translates_to_its_own_formula(tmp_path: Path) -> None:
    """One translator, the three instances' figures one after the other: with memo keys taken from the id() of a
    freed dict, 份1 and 份2 came back as 份0's formula (100, 100, 100 at 总费用 = 1000元)."""
    import z3

    from yibaolang.analysis import search
    from yibaolang.analysis.prove import Translator
    from yibaolang.checks.compiler import compile_policy

    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    (tmp_path / "b.ybl").write_text(MULTI_LIB, encoding="utf-8")
    (tmp_path / "a.ybl").write_text(multi_import(1), encoding="utf-8")
    program = compile_policy(tmp_path / "a.ybl")
    total = z3.Real("n:总费用")
    tr = Translator(z3, program, {"总费用": total})
    terms = [tr.expr(ir.Name("报销", f"份{i}", ir.NO_SPAN), search.at_root(program)) for i in range(3)]
    solver = z3.Solver()
    solver.add(total == 1000)
    assert solver.check() == z3.sat
    model = solver.model()
    assert [model.eval(t).as_fraction() for t in terms] == [100, 1200, Fraction(7, 10)]


def test_cited_policy_is_shown_relative_to_the_working_folder_of_each_run(tmp_path: Path) -> None:
    # The cited policy is compiled once per process; a run from another folder must not fix its shown path.
    fixture = HERE / "fixtures" / "constraints" / "violates_guangdong.ybl"
    run_in(tmp_path, "check", str(fixture))
    _, out, _ = run_in(HERE.parent, "check", "tests/fixtures/constraints/violates_guangdong.ybl")
    assert out.count("参见 policies/guangdong_2009.ybl") == 2, out
