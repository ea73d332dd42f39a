"""Print IR back to source text.

The printed text parses back to the same IR (up to spans).  The property
tests use it to turn generated IR into programs, and it is the base the
formatter builds on.

>>> from yibaolang.ir import Arith, ArithOp, Literal, LiteralKind, Name, NO_SPAN
>>> from decimal import Decimal
>>> e = Arith(ArithOp.MUL, Arith(ArithOp.SUB, Name("费用", None, NO_SPAN),
...       Literal(LiteralKind.MONEY, Decimal(500), "500元", NO_SPAN), NO_SPAN),
...       Literal(LiteralKind.RATIO, Decimal("0.5"), "50%", NO_SPAN), NO_SPAN)
>>> expr_text(e)
'(费用 - 500元) × 50%'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import assert_never

from yibaolang import ir

INDENT = "    "

# Binding strength, loosest first (mirrors the grammar's expression levels).
P_IF, P_OR, P_AND, P_NOT, P_CMP, P_CAP, P_SUM, P_PRODUCT, P_UNARY, P_ATOM = range(10)

_OP_WORDS = {
    ir.CompareOp.GT: ">", ir.CompareOp.GE: "≥", ir.CompareOp.LT: "<", ir.CompareOp.LE: "≤",
    ir.CompareOp.EQ: "=", ir.CompareOp.NE: "≠",
}


def literal_text(lit: ir.Literal) -> str:
    """The canonical spelling of a literal's value (the drafter's `text` is kept apart)."""
    value = lit.value
    match lit.kind:
        case ir.LiteralKind.MONEY:
            assert isinstance(value, Decimal)
            return _plain(value) + "元"
        case ir.LiteralKind.RATIO:
            assert isinstance(value, Decimal)
            return _plain(value * 100) + "%"
        case ir.LiteralKind.NUMBER:
            assert isinstance(value, Decimal)
            return _plain(value)
        case ir.LiteralKind.YEARS:
            return f"{value}年"
        case ir.LiteralKind.MONTHS:
            return f"{value}个月"
        case ir.LiteralKind.DAYS:
            return f"{value}日"
        case ir.LiteralKind.DATE:
            assert isinstance(value, dt.date)
            return value.isoformat()
        case ir.LiteralKind.BOOL:
            return "是" if value else "否"
        case ir.LiteralKind.TEXT:
            return _string(str(value))
        case _:
            assert_never(lit.kind)


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def precedence(expr: ir.Expr) -> int:
    match expr:
        case ir.If() | ir.Lookup():
            return P_IF
        case ir.Logic(op=ir.LogicOp.OR):
            return P_OR
        case ir.Logic():
            return P_AND
        case ir.Not():
            return P_NOT
        case ir.Compare() | ir.Member() | ir.Between():
            return P_CMP
        case ir.Bounded():
            return P_CAP
        case ir.Arith(op=ir.ArithOp.ADD | ir.ArithOp.SUB):
            return P_SUM
        case ir.Arith():
            return P_PRODUCT
        case ir.Negate():
            return P_UNARY
        case ir.Literal(value=Decimal() as v) if v < 0:
            return P_UNARY
    return P_ATOM


Substitute = Callable[[ir.Expr], "str | None"]
Choose = Callable[[ir.If], "ir.Expr | None"]


def expr_text(expr: ir.Expr, *, as_written: bool = False, substitute: Substitute | None = None,
              choose: Choose | None = None) -> str:
    """One-line source for an expression.

    Canonical by default (the formatter's and the property tests' form).  With
    `as_written`, literals and comparison words keep the drafter's spelling
    (the explanation's formulas); `substitute` may replace a name by its value
    and `choose` may replace a 如果 by the branch that was taken.  A block
    expression prints as its header (分段累进 x, 查表 (a, b)); `block_lines`
    prints it whole.
    """
    return _Printer(as_written, substitute, choose).text(expr)


class _Printer:
    def __init__(self, as_written: bool, substitute: Substitute | None, choose: Choose | None) -> None:
        self.as_written = as_written
        self.substitute = substitute
        self.choose = choose

    def wrap(self, expr: ir.Expr, minimum: int) -> str:
        text = self.text(expr)
        return f"({text})" if precedence(expr) < minimum else text

    def text(self, expr: ir.Expr) -> str:
        wrap = self.wrap
        match expr:
            case ir.Literal():
                return expr.text if self.as_written else literal_text(expr)
            case ir.Name():
                shown = self.substitute(expr) if self.substitute is not None else None
                return shown or expr.display
            case ir.Arith(op=op, left=left, right=right):
                level = P_SUM if op in (ir.ArithOp.ADD, ir.ArithOp.SUB) else P_PRODUCT
                return f"{wrap(left, level)} {op.value} {wrap(right, level + 1)}"
            case ir.Negate(operand=operand):
                return f"-{wrap(operand, P_UNARY)}"
            case ir.Compare(op=op, word=word, left=left, right=right, inclusive_marker=marked):
                if self.as_written:
                    return f"{wrap(left, P_CAP)} {word} {wrap(right, P_CAP)}{'（含）' if marked else ''}"
                return f"{wrap(left, P_CAP)} {_OP_WORDS[op]} {wrap(right, P_CAP)}"
            case ir.Member(subject=subject, values=values, negated=negated):
                word = "不属于" if negated else "属于"
                return f"{wrap(subject, P_CAP)} {word} {{{', '.join(values)}}}"
            case ir.Between(subject=subject, low=low, high=high):
                return f"{wrap(subject, P_CAP)} 介于 {wrap(low, P_CAP)} 与 {wrap(high, P_CAP)}"
            case ir.Logic(op=op, left=left, right=right):
                level = P_OR if op is ir.LogicOp.OR else P_AND
                return f"{wrap(left, level)} {op.value} {wrap(right, level + 1)}"
            case ir.Not(operand=operand):
                return f"非 {wrap(operand, P_NOT)}"
            case ir.If(branches=branches, otherwise=otherwise):
                taken = self.choose(expr) if self.choose is not None else None
                if taken is not None:
                    return self.text(taken)
                first, *rest = branches
                parts = [f"如果 {self.text(first.condition)} 则 {wrap(first.value, P_OR)}"]
                parts += [f"否则如果 {self.text(b.condition)} 则 {wrap(b.value, P_OR)}" for b in rest]
                parts.append(f"否则 {wrap(otherwise, P_OR)}")
                return " ".join(parts)
            case ir.Bounded(kind=kind, value=value, limit=limit):
                return f"{wrap(value, P_CAP)} {kind.value} {wrap(limit, P_SUM)}"
            case ir.Call(args=args):
                return f"{expr.display}({', '.join(self.text(a) for a in args)})"
            case ir.Banded(subject=subject):
                return self.block("分段累进", (subject,))
            case ir.Stepped(subject=subject):
                return self.block("分档", (subject,))
            case ir.Cases(subject=subject):
                return self.block("分情况", (subject,))
            case ir.Table(keys=keys):
                return self.block("查表", keys)
            case ir.Aggregate(kind=kind, over=over, item=item, where=where):
                target = f"{over}.{item}" if item is not None else over
                cond = f" 其中 {self.text(where)}" if where is not None else ""
                return f"{kind.value}({target}{cond})"
            case ir.Lookup(catalog=catalog, column=column, key=key, date=date, missing=missing):
                when = f" 于 {wrap(date, P_OR)}" if date is not None else ""
                return f"查目录 {catalog}.{column} 按 {wrap(key, P_OR)}{when} 查无 {self.text(missing)}"
            case _:
                assert_never(expr)

    def block(self, word: str, subjects: tuple[ir.Expr, ...]) -> str:
        inner = ", ".join(self.text(s) for s in subjects)
        if self.substitute is not None:
            return f"{word}({inner})"
        return f"{word} ({inner})" if word == "查表" else f"{word} {inner}"


def _wrap(expr: ir.Expr, minimum: int) -> str:
    return _Printer(False, None, None).wrap(expr, minimum)


def is_block(expr: ir.Expr) -> bool:
    return isinstance(expr, (ir.Banded, ir.Stepped, ir.Cases, ir.Table))


def _bound(bound: ir.Bound) -> str:
    text = _wrap(bound.value, P_ATOM)
    return text + "(含)" if bound.marked else text


def block_lines(expr: ir.Expr, indent: str) -> list[str]:
    """A block expression as lines; rows are indented one level under `indent`."""
    inner = indent + INDENT
    match expr:
        case ir.Banded(subject=subject, bands=bands):
            lines = [f"{indent}分段累进 {expr_text(subject)}"]
            for band in bands:
                if band.lower is None and band.upper is not None:
                    head = f"{_bound(band.upper)} 以下"
                elif band.upper is None and band.lower is not None:
                    head = f"{_bound(band.lower)} 以上" if band.lower.inclusive else f"超过 {_bound(band.lower)}"
                elif band.lower is not None and band.upper is not None:
                    head = f"{_bound(band.lower)} 至 {_bound(band.upper)}"
                else:
                    raise ValueError("a band needs a bound")
                lines.append(f"{inner}{head} 按 {expr_text(band.rate)}")
            return lines
        case ir.Stepped(subject=subject, steps=steps, otherwise=otherwise):
            lines = [f"{indent}分档 {expr_text(subject)}"]
            for step in steps:
                lines.append(f"{inner}{_step_head(step)} : {expr_text(step.result)}")
            if otherwise is not None:
                lines.append(f"{inner}其余 : {expr_text(otherwise)}")
            return lines
        case ir.Cases(subject=subject, rows=rows, otherwise=otherwise):
            lines = [f"{indent}分情况 {expr_text(subject)}"]
            lines += [f"{inner}{', '.join(row.values)} : {expr_text(row.result)}" for row in rows]
            if otherwise is not None:
                lines.append(f"{inner}其余 : {expr_text(otherwise)}")
            return lines
        case ir.Table(keys=keys, columns=columns, rows=rows):
            lines = [f"{indent}查表 ({', '.join(expr_text(k) for k in keys)})"]
            if len(keys) == 2:
                lines.append(f"{inner}{INDENT}{'  '.join(columns)}")
                lines += [f"{inner}{row.key}  {'  '.join(_wrap(c, P_ATOM) for c in row.cells)}" for row in rows]
            else:
                lines += [f"{inner}{row.key} : {expr_text(row.cells[0])}" for row in rows]
            return lines
    raise ValueError("not a block expression")


def _step_head(step: ir.Step) -> str:
    match step.kind:
        case ir.StepKind.EXACT:
            assert step.low is not None
            return _bound(step.low)
        case ir.StepKind.AT_LEAST:
            assert step.low is not None
            return f"{_bound(step.low)} 以上"
        case ir.StepKind.ABOVE:
            assert step.low is not None
            return f"超过 {_bound(step.low)}"
        case ir.StepKind.AT_MOST:
            assert step.high is not None
            return f"{_bound(step.high)} 以下"
        case ir.StepKind.BELOW:
            assert step.high is not None
            return f"不满 {_bound(step.high)}"
        case ir.StepKind.BETWEEN:
            assert step.low is not None and step.high is not None
            return f"{_bound(step.low)} 至 {_bound(step.high)}"
        case _:
            assert_never(step.kind)


def _string(text: str) -> str:
    if '"' in text or "\n" in text:
        return f'"""{text}"""'
    return f'"{text}"'


def _type(ref: ir.TypeRef) -> str:
    return ref.display


def _definition_lines(d: ir.Definition, indent: str) -> list[str]:
    head = f"{indent}定义 {d.display}" + (f" : {_type(d.type)}" if d.type is not None else "") + " ="
    if is_block(d.expr):
        return [head, *block_lines(d.expr, indent + INDENT)]
    limits: list[str] = []
    inner = d.expr
    while isinstance(inner, ir.Bounded):  # 封顶/保底 on the lines after a block (docs/language.md)
        limits.insert(0, f"{indent}{INDENT}{inner.kind.value} {_wrap(inner.limit, P_SUM)}")
        inner = inner.value
    if limits and is_block(inner):
        return [head, *block_lines(inner, indent + INDENT), *limits]
    return [f"{head} {expr_text(d.expr)}"]


def _param_lines(p: ir.ParamDecl, indent: str) -> list[str]:
    choice = _options(p.range_low, p.range_high, None)
    if len(p.versions) == 1 and p.versions[0].start is None:
        return [f"{indent}参数 {p.name} : {_type(p.type)} = {expr_text(p.versions[0].value)}{choice}"]
    lines = [f"{indent}参数 {p.name} : {_type(p.type)}{choice}"]
    for v in p.versions:
        if v.start is None:
            lines.append(f"{indent}{INDENT}此前 {expr_text(v.value)}")
        else:
            lines.append(f"{indent}{INDENT}自 {v.start.isoformat()} 起 {expr_text(v.value)}")
    return lines


def module_text(module: ir.Module) -> str:
    """The whole module, declarations grouped as the IR holds them."""
    out: list[str] = []
    h = module.header
    if h is not None:
        out.append(f"政策 {h.name}")
        for key, value in (("文号", h.doc_number), ("发布机关", h.issuer), ("说明", h.note)):
            if value is not None:
                out.append(f"{INDENT}{key} {_string(value)}")
        for key, day in (("发布", h.published), ("施行", h.effective), ("失效", h.expires)):
            if day is not None:
                out.append(f"{INDENT}{key} {day.isoformat()}")
        if h.status:
            out.append(f"{INDENT}状态 {h.status}")
        if h.rounding:
            out.append(f"{INDENT}舍入 到 {h.rounding}")
        if h.fiscal_year_start:
            out.append(f"{INDENT}统筹年度 自 {h.fiscal_year_start[0]}月{h.fiscal_year_start[1]}日")
        out.append("")
    for e in module.enums:
        out.append(f"类型 {e.name} = 选项 {{{', '.join(e.values)}}}")
    for imp in module.imports:
        out.append(f"引用 {_string(imp.path)}" + (f" 作为 {imp.alias}" if imp.alias else ""))
        out += [f"{INDENT}代入 {b.input} = {expr_text(b.value)}" for b in imp.bindings]
    for basis in module.bases:
        out.append(f"依据 {_string(basis.path)}")
    for catalog in module.catalogs:
        out += catalog_lines(catalog)
    for i in module.inputs:
        line = f"输入 {i.scope + '.' if i.scope else ''}{i.name} : {_type(i.type)}"
        line += _options(i.range_low, i.range_high, i.default)
        if i.accumulates is not None:
            line += f" {'家庭累计' if i.family else '累计'} {i.accumulates.display}"
        if i.description is not None:
            line += f" {_string(i.description)}"
        out.append(line)
        out += [INDENT + field_line(f) for f in i.fields]
    for p in module.params:
        if p.clause is None:
            out += _param_lines(p, "")
    for d in module.definitions:
        if d.clause is None:
            out += _definition_lines(d, "")
    for f in module.functions:
        if f.clause is None:
            out += _function_lines(f, "")
    for clause in module.clauses:
        out.append("")
        out.append(f"条款 {_string(clause.raw_id)}" + (f" {clause.title}" if clause.title else ""))
        body: list[str] = []
        if clause.text is not None:
            body.append(f"{INDENT}原文 {_string(clause.text)}")
        for p in module.params:
            if p.clause == clause.id:
                body += _param_lines(p, INDENT)
        for d in module.definitions:
            if d.clause == clause.id:
                body += _definition_lines(d, INDENT)
        for f in module.functions:
            if f.clause == clause.id:
                body += _function_lines(f, INDENT)
        body += [_exception_line(r, INDENT) for r in module.exceptions if r.clause == clause.id]
        body += [f"{INDENT}断言 {expr_text(a.condition)}" + (f" {_string(a.message)}" if a.message else "")
                 for a in module.assertions if a.clause == clause.id]
        body += [f"{INDENT}要求 {r.name} : {_type(r.type)}" for r in module.requirements if r.clause == clause.id]
        body += [f"{INDENT}约束 {expr_text(c.condition)}" + (f" {_string(c.message)}" if c.message else "")
                 for c in module.constraints if c.clause == clause.id]
        out += body or [f"{INDENT}原文 \"\""]
    unclaused = [r for r in module.exceptions if r.clause is None]
    if unclaused:
        out.append("")
        out += [_exception_line(r, "") for r in unclaused]
    out += [f"断言 {expr_text(a.condition)}" for a in module.assertions if a.clause is None]
    out += [f"约束 {expr_text(c.condition)}" for c in module.constraints if c.clause is None]
    out += [f"要求 {r.name} : {_type(r.type)}" for r in module.requirements if r.clause is None]
    if module.outputs:
        out.append("")
        out.append("输出 " + ", ".join(n.display for n in module.outputs))
    for example in module.examples:
        out.append("")
        out.append(f"样例 {_string(example.name)}")
        out += [f"{INDENT}{line.name.display} = {expr_text(line.value)}" for line in example.inputs]
        out += [f"{INDENT}期望 {line.name.display} = {expr_text(line.value)}" for line in example.expectations]
    return "\n".join(out).strip("\n") + "\n"


def _options(low: ir.Expr | None, high: ir.Expr | None, default: ir.Expr | None) -> str:
    text = ""
    if low is not None and high is not None:
        text += f" 范围 {_wrap(low, P_ATOM)} 至 {_wrap(high, P_ATOM)}"
    if default is not None:
        text += f" 默认 {_wrap(default, P_ATOM)}"
    return text


def field_line(f: ir.FieldDecl) -> str:
    """A field of a 列表 input or a column of a 目录, without its indentation or 键/列 word."""
    line = f"{f.name} : {_type(f.type)}" + _options(f.range_low, f.range_high, f.default)
    if f.nullable:
        line += " 可空"
    if f.description is not None:
        line += f" {_string(f.description)}"
    return line


def catalog_lines(c: ir.CatalogDecl) -> list[str]:
    head = f"目录 {c.name} {_string(c.path)}" + (f" {_string(c.description)}" if c.description else "")
    lines = [head, f"{INDENT}键 {field_line(c.key)}", *(f"{INDENT}列 {field_line(col)}" for col in c.columns)]
    if c.valid_from is not None and c.valid_to is not None:
        lines.append(f"{INDENT}有效期 {c.valid_from} 至 {c.valid_to}")
    return lines


def _function_lines(f: ir.FunctionDecl, indent: str) -> list[str]:
    params = ", ".join(f"{p.name}: {_type(p.type)}" for p in f.params)
    return [f"{indent}函数 {f.name}({params}) : {_type(f.result)} = {expr_text(f.body)}"]


def _exception_line(r: ir.ExceptionRule, indent: str) -> str:
    line = f"{indent}例外 {r.target.display} 当 {expr_text(r.condition)} 时 = {expr_text(r.value)}"
    if r.overrides:
        line += " 优先于 " + ", ".join(_string(o) for o in r.overrides)
    return line
