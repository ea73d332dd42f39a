"""Generate a large, valid policy for benchmarks: `python benchmarks/gen_policy.py LINES > big.ybl`."""

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
    i = 0
    while len(out) < lines - 20:
        i += 1
        out += [
            f'条款 "第{i}条" 第{i}条的规定',
            f'    原文 "个人负担在2万元以上的费用按比例报销，最高支付{i}万元。"',
            f"    参数 起付线{i} : 金额 = {500 + i}元",
            f"    定义 报销比例{i} : 比例 = 查表 (人员状态, 医院等级)",
            "                  三级    二级    其他",
            "        在职      90%     92%     94%",
            "        退休      92%     94%     96%",
            f"    定义 分段{i} : 金额 =",
            "        分段累进 费用",
            "            2万元 至 10万元(含) 按 50%",
            "            10万元 至 20万元(含) 按 60%",
            "            超过 20万元 按 70%",
            f"    定义 报销{i} = 取较大(费用 - 起付线{i}, 0元) × 报销比例{i} 封顶 {i}万元",
            f"    定义 等待期{i} : 月数 =",
            "        如果 断保年数 > 0年 则 3个月",
            "        否则如果 医院等级 属于 {三级, 二级} 则 1个月",
            "        否则 0个月",
            f"    例外 等待期{i} 当 人员状态 = 退休 且 费用 超过 5万元(含) 时 = 0个月",
            "",
        ]
    out.append("输出 报销1, 分段1")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 10000))
