"""Benchmark evaluation: scalar throughput without and with the trace, and a cold `yibaolang explain`.

Prints figures; it asserts nothing.  Run: `python benchmarks/eval_bench.py [--cases N] [--runs N]`.
Targets (issue 3): at least 50,000 cases/s without the trace on a band-and-table
policy; a cold `yibaolang explain` of one case under 200 ms.

Throughput is measured on cases whose values are already typed (as the batch
engine hands them over); the figure with case validation from typed strings is
printed beside it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

POLICY = """\
政策 基准：住院报销（分段与查表）
    施行 2024年1月1日

类型 医院等级 = 选项 {三级, 二级, 其他}
输入 人员状态 : 选项 {在职, 退休}
输入 医院等级 : 医院等级
输入 住院费用 : 金额 范围 0元 至 1000万元
输入 年度已支付 : 金额 默认 0元

条款 "一" 起付与比例
    定义 起付标准 : 金额 =
        分情况 医院等级
            三级 : 1200元
            二级 : 800元
            其他 : 400元
    定义 报销比例 : 比例 = 查表 (人员状态, 医院等级)
                三级    二级    其他
        在职      85%     88%     90%
        退休      88%     90%     92%

条款 "二" 统筹支付
    定义 可报销费用 : 金额 = (住院费用 - 起付标准) 保底 0元
    定义 统筹支付 : 金额 = 可报销费用 × 报销比例 封顶 (15万元 - 年度已支付)
    定义 个人负担 : 金额 = 住院费用 - 统筹支付

条款 "三" 大病保险
    定义 大病保险 : 金额 =
        分段累进 个人负担
            2万元 至 10万元（含） 按 50%
            10万元 至 20万元（含） 按 60%
            超过 20万元 按 70%

输出 统筹支付, 个人负担, 大病保险
"""

OUTPUTS = ["统筹支付", "个人负担", "大病保险"]


def command() -> list[str]:
    script = Path(sys.executable).with_name("yibaolang")
    return [str(script)] if script.exists() else [sys.executable, "-m", "yibaolang"]


def make_cases(n: int) -> list[dict[str, object]]:
    rng = random.Random(20240101)
    return [
        {
            "人员状态": rng.choice(["在职", "退休"]),
            "医院等级": rng.choice(["三级", "二级", "其他"]),
            "住院费用": Decimal(rng.randrange(0, 60_000_000)) / 100,
            "年度已支付": Decimal(rng.randrange(0, 5_000_000)) / 100,
        }
        for _ in range(n)
    ]


def rate(seconds: float, n: int) -> str:
    return f"{n / seconds:>10,.0f} cases/s  ({seconds * 1e6 / n:.1f} µs/case)"


def throughput(cases: int) -> None:
    from yibaolang.checks.compiler import compile_policy
    from yibaolang.engines.cases import RawCase, RawEntry, validate
    from yibaolang.engines.evaluate import evaluate, evaluator_for
    from yibaolang.engines.outcome import CaseInput
    from yibaolang.ir import Span

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "band_table.ybl"
        path.write_text(POLICY, encoding="utf-8")
        program = compile_policy(path)
        assert not program.diagnostics, program.diagnostics
    data = make_cases(cases)
    run = evaluator_for(program, False).runner(OUTPUTS)
    for case in data[:1000]:  # warm up
        run(case, None)

    start = time.perf_counter()
    for case in data:
        run(case, None)
    fast = time.perf_counter() - start

    start = time.perf_counter()
    for case in data:
        evaluate(program, CaseInput(case), OUTPUTS)
    full = time.perf_counter() - start

    traced_n = max(cases // 10, 1000)
    start = time.perf_counter()
    for case in data[:traced_n]:
        evaluate(program, CaseInput(case), OUTPUTS, trace=True)
    traced = time.perf_counter() - start

    span = Span("bench", 1, 1, 1, 1)
    raw = [RawCase("bench", [RawEntry(k, f"{v}元" if isinstance(v, Decimal) else v, span, span)
                             for k, v in case.items()]) for case in data[:traced_n]]
    start = time.perf_counter()
    for item in raw:
        case_input, _ = validate(program, item)
        evaluate(program, case_input, OUTPUTS)
    validated = time.perf_counter() - start

    print(f"band-and-table policy, {cases:,} cases, outputs {', '.join(OUTPUTS)}")
    print(f"  without trace (compiled runner)      {rate(fast, cases)}   target ≥ 50,000")
    print(f"  without trace (evaluate(), full API) {rate(full, cases)}")
    print(f"  with trace                           {rate(traced, traced_n)}")
    print(f"  typed strings validated + evaluate() {rate(validated, traced_n)}")


def cold_explain(runs: int) -> None:
    policy = "examples/tianjin_daibing.ybl"
    case = "examples/tianjin_daibing.case.yaml"
    args = [*command(), "explain", policy, "--case", case]
    env = dict(os.environ)
    # An installed package has its bytecode compiled; let this checkout cache it too.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(args, cwd=ROOT, capture_output=True, check=False, env=env)  # grammar and bytecode caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(args, cwd=ROOT, capture_output=True, check=False, env=env)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            print(done.stderr.decode("utf-8", "replace"))
    check_times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*command(), "check", policy], cwd=ROOT, capture_output=True, check=False, env=env)
        check_times.append(time.perf_counter() - start)
    print(f"cold `yibaolang explain {policy} --case {case}` (median of {runs}):")
    print(f"  explain {statistics.median(times) * 1000:6.0f} ms   (min {min(times) * 1000:.0f} ms)   target < 200 ms")
    print(f"  check   {statistics.median(check_times) * 1000:6.0f} ms   (the front half alone, for comparison)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    options = parser.parse_args()
    throughput(options.cases)
    cold_explain(options.runs)


if __name__ == "__main__":
    main()
