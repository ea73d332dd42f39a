"""Generate a large, valid, lint-clean policy: `python benchmarks/gen_policy.py LINES > big.ybl`."""

from __future__ import annotations

import sys


def generate(lines: int) -> str:
    out = [
        "政策 基准测试用的大型政策",
        '    文号 "测〔2026〕1号"',
        "    状态 有效",
        "",
        "类型 医院等级 = 选项 {三级, 二级, 其他}",
        "输入 医院等级 : 医院等级",
        "输入 人员状态 : 选项 {在职, 退休}",
        "输入 费用 : 金额 范围 0元 至 1000万元 \"政策范围内费用\"",
        "输入 断保年数 : 年数 默认 0年",
        "",
    ]
    outputs = []
    i = 0
    while len(out) < lines - 20:
        i += 1
        top = 20 + i
        wait = 3 + i % 9
        low = 60 + i % 35
        mid = 70 + (i // 35) % 25  # with `low`, makes every clause's table distinct
        out += [
            f'条款 "第{i}条" 第{i}条的规定',
            f'    原文 "起付线为{500 + i}元。在职人员在三级、二级、其他医疗机构分别报销{low}%、{mid}%、94%，退休人员分别报销92%、94%、96%，'
            f'最高支付{i}万元。2万元至10万元(含)报销50%，10万元至{top}万元(含)报销60%，超过{top}万元的部分报销70%。'
            f'断保的等待期{wait}个月，三级、二级医院1个月；退休人员费用超过5万元(含)的不设等待期。"',
            f"    参数 起付线{i} : 金额 = {500 + i}元",
            f"    定义 报销比例{i} : 比例 = 查表 (人员状态, 医院等级)",
            "                  三级    二级    其他",
            f"        在职      {low}%     {mid}%     94%",
            "        退休      92%     94%     96%",
            f"    定义 分段{i} : 金额 =",
            "        分段累进 费用",
            "            2万元 至 10万元(含) 按 50%",
            f"            10万元 至 {top}万元(含) 按 60%",
            f"            超过 {top}万元 按 70%",
            f"    定义 报销{i} = 取较大(费用 - 起付线{i}, 0元) × 报销比例{i} 封顶 {i}万元",
            f"    定义 等待期{i} : 月数 =",
            f"        如果 断保年数 > 0年 则 {wait}个月",
            "        否则如果 医院等级 属于 {三级, 二级} 则 1个月",
            "        否则 0个月",
            f"    例外 等待期{i} 当 人员状态 = 退休 且 费用 超过 5万元(含) 时 = 0个月",
            "",
        ]
        outputs += [f"报销{i}", f"分段{i}", f"等待期{i}"]
    out.append("输出 " + ", ".join(outputs))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 10000))
