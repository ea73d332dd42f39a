"""Type and unit checking (docs/language.md §3–§4), with inference for definitions.

Walks every module of a Program: resolves each reference (reporting unknown
names with a did-you-mean or the spaced form of a glued identifier), infers
the type of every definition on demand (so a cycle is found with its path),
and checks arithmetic, comparisons, conditions, block expressions,
exceptions, parameters, examples, outputs and 代入 bindings.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import assert_never

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program, Resolved, Symbol, SymbolKind, all_names, lookup
from yibaolang.diagnostics import Diagnostic, Suggestion, closest, error
from yibaolang.ir.types import (
    BOOL,
    DATE,
    DURATIONS,
    ERROR,
    LITERAL_TYPES,
    MONEY,
    NUMBER,
    PRIMITIVES,
    RATIO,
    Kind,
    Type,
    arith_result,
    comparable,
    enum_type,
)
from yibaolang.ir.walk import walk
from yibaolang.semantics import builtins
from yibaolang.semantics.levels import FUND, is_fund_level, item_name, local_name, qualified, scoped_names

ROUNDING_UNITS = ("分", "角", "元")
EVALUATION_DATE = "计算日期"  # readable in any expression: the date the case is computed for

# The builtin functions and their type rules are declared once, in semantics/builtins.py.
BUILTINS = builtins.BUILTINS

_ARITH_WORDS = {ir.ArithOp.ADD: "相加", ir.ArithOp.SUB: "相减", ir.ArithOp.MUL: "相乘", ir.ArithOp.DIV: "相除"}


@attrs.define
class Context:
    scope: ModuleScope
    locals: dict[str, Type] = attrs.Factory(dict)
    # The level names are read at: a list name inside its line definitions, 全体 in the fund's
    # (semantics/levels.py); None for the claim.
    within: str | None = None


class Checker:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.diagnostics: list[Diagnostic] = []
        self.in_progress: list[Symbol] = []
        self.clause: str | None = None  # the clause of the declaration being checked
        self.reported_cycles: set[frozenset[tuple[str, str]]] = set()
        self.call_cycles: dict[str, dict[str, list[str]]] = {}  # per module: function → a cycle through it

    # -------------------------------------------------------------- entry

    def run(self) -> None:
        for scope in self.program.modules.values():
            self.check_module(scope)
        self.check_exception_cycles()
        self.program.diagnostics.extend(self.diagnostics)

    # -------------------------------------------------------------- cycles through 例外

    def reads(self, symbol: Symbol) -> list[tuple[Symbol, ir.ExceptionRule | None]]:
        """The figures `symbol` reads, each with the 例外 it is read through (None: its own expression)."""
        scope = self.program.modules[symbol.module]
        decl = symbol.decl
        own: list[ir.Expr] = []
        match decl:
            case ir.Definition():
                own.append(decl.expr)
            case ir.ParamDecl():
                own.extend(v.value for v in decl.versions)
            case ir.InputDecl():
                if decl.default is not None:
                    own.append(decl.default)
            case ir.FieldDecl():
                if decl.default is not None:
                    own.append(decl.default)
            case ir.FunctionDecl() | ir.Requirement():
                pass
            case _:
                assert_never(decl)
        out: list[tuple[Symbol, ir.ExceptionRule | None]] = []
        for expr in own:
            out.extend((s, None) for s in self.figures_read(scope, expr, symbol.level))
        for rule_scope, rule in self.program.exceptions.get(symbol.key, []):
            for expr in (rule.condition, rule.value):
                out.extend((s, rule) for s in self.figures_read(rule_scope, expr, symbol.level))
        return out

    def figures_read(self, scope: ModuleScope, expr: ir.Expr, within: str | None = None) -> Iterator[Symbol]:
        for node, level in scoped_names(expr, within):
            found = lookup(scope, node, level)
            if found is not None and found.symbol.kind is not SymbolKind.FUNCTION:
                yield found.symbol

    def check_exception_cycles(self) -> None:
        """YB320 for a cycle that runs through an 例外: its condition or value reads the figure it changes.

        Cycles among plain definitions are found while inferring their types;
        an exception is not part of its target's type, so those are found here.
        """
        done: set[tuple[str, str]] = set()
        for scope in self.program.modules.values():
            for symbol in scope.own.values():
                if symbol.key not in done and symbol.key in self.program.exceptions:
                    self.cycles_from(symbol, done)

    def cycles_from(self, start: Symbol, done: set[tuple[str, str]]) -> None:
        # Iterative depth-first search; `path` holds (symbol, the 例外 the next step is read through).
        path: list[tuple[Symbol, ir.ExceptionRule | None]] = []
        on_path: dict[tuple[str, str], int] = {}
        stack: list[Iterator[tuple[Symbol, ir.ExceptionRule | None]]] = []

        def push(symbol: Symbol) -> None:
            on_path[symbol.key] = len(path)
            path.append((symbol, None))
            stack.append(iter(self.reads(symbol)))

        push(start)
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                symbol, _ = path.pop()
                del on_path[symbol.key]
                done.add(symbol.key)
                continue
            target, rule = step
            path[-1] = (path[-1][0], rule)
            if target.key in on_path:
                self.report_exception_cycle(path[on_path[target.key]:], target)
            elif target.key not in done:
                push(target)

    def report_exception_cycle(self, chain: list[tuple[Symbol, ir.ExceptionRule | None]], back: Symbol) -> None:
        rules = [rule for _, rule in chain if rule is not None]
        if not rules:
            return  # a cycle of definitions alone: reported while inferring types
        key = frozenset(s.key for s, _ in chain)
        if key in self.reported_cycles:
            return
        self.reported_cycles.add(key)
        parts = []
        for symbol, rule in chain:
            if rule is None:
                parts.append(f"{symbol.name} → ")
            else:
                cite = f"条款 {rule.clause} 的例外" if rule.clause else "例外"
                parts.append(f"{symbol.name} →（{cite}）")
        path = "".join(parts) + back.name
        rule = rules[0]
        self.report("YB320", rule.span, f"定义之间循环依赖：{path}",
                    f"例外的条件和取值不能读取它所改变的 {rule.target.display}，直接或经由别的定义都不行；"
                    "请用改变之前就能确定的数额写条件（例如另写一个 定义）",
                    clause=rule.clause)

    def report(self, code: str, span: ir.Span, message: str, hint: str = "", **kw: object) -> None:
        kw.setdefault("clause", self.clause)
        self.diagnostics.append(error(code, span, message, hint, **kw))

    def check_module(self, scope: ModuleScope) -> None:
        module = scope.module
        ctx = Context(scope)
        values = scope.enum_values()
        for symbol in list(scope.own.values()):
            # A line or fund figure (明细.全自费) shadows an option value inside its level's formulas too.
            bare = local_name(symbol.name)
            if bare in values and symbol.kind is not SymbolKind.FUNCTION:
                owner = values[bare][0].name
                self.report("YB319", symbol.decl.span,
                            f"{symbol.kind.value}“{symbol.name}”与 {owner} 的选项同名，会遮住这个选项",
                            f"换一个名称，例如“是{bare}”或“{bare}标志”")
            self.symbol_type(symbol)
        for function in module.functions:
            self.check_function(scope, function)
        for input_decl in module.inputs:
            self.check_input(ctx, input_decl)
        for catalog in module.catalogs:
            self.check_catalog(scope, catalog)
        for definition in module.definitions:
            if definition.scope is not None and definition.scope not in scope.levels:
                self.report("YB336", definition.span,
                            f"定义 {definition.display}：{definition.scope} 不是列表输入，也不是 {FUND}",
                            f"每行的定义写作 列表名.名称（如 明细.明细金额），基金层的写作 {FUND}.名称",
                            clause=definition.clause)
        for param_decl in module.params:
            self.clause = param_decl.clause
            self.check_param(ctx, param_decl)
        self.clause = None
        for rule in module.exceptions:
            self.clause = rule.clause
            self.check_exception(ctx, rule)
        fund = Context(scope, within=FUND)
        for assertion in module.assertions:
            self.clause = assertion.clause
            self.expect(fund if is_fund_level(assertion.condition) else ctx, assertion.condition, BOOL, "断言")
        for constraint in module.constraints:
            self.clause = constraint.clause
            self.expect(fund if is_fund_level(constraint.condition) else ctx, constraint.condition, BOOL, "约束")
        self.clause = None
        for name in module.outputs:
            found = self.resolve_figure(ctx, name)
            if found is not None and found.symbol.kind is SymbolKind.FUNCTION:
                self.report("YB314", name.span, f"“{name.display}”是函数，不能作为输出", "输出 后面写定义或参数的名称")
            elif found is not None and found.symbol.level not in (None, FUND):
                self.report("YB331", name.span, f"“{name.display}”是每行的数，不能作为输出",
                            f"输出它的汇总，例如 定义 {name.name}合计 = 求和({name.display})；计算说明会逐行列出每行的数")
            elif found is not None and found.symbol.kind is SymbolKind.INPUT and \
                    self.symbol_type(found.symbol).kind is Kind.LIST:
                self.report("YB331", name.span, f"“{name.display}”是列表输入，不能作为输出",
                            f"输出它的汇总，例如 计数({name.display})")
        for imp, child in scope.imports:
            for binding in imp.bindings:
                self.check_binding(ctx, imp, child, binding)
        for basis in module.bases:
            self.check_basis(scope, basis)
        for example in module.examples:
            self.check_example(ctx, example)

    # -------------------------------------------------------------- declarations

    def resolve_type(self, scope: ModuleScope, ref: ir.TypeRef, owner: str | None = None) -> Type:
        if ref.values is not None:
            enum_ = scope.input_enums.get(owner or "")
            if enum_ is None:
                from yibaolang.ir.types import EnumType

                enum_ = EnumType(owner or "选项", ref.values, scope.path)
            return enum_type(enum_)
        assert ref.name is not None
        if ref.qualifier is not None:
            entry = scope.aliases.get(ref.qualifier)
            if entry is None:
                guess = closest(ref.qualifier, list(scope.aliases))
                self.report("YB301", ref.span, f"未知的别名：{ref.qualifier}",
                            f"是否想写 {guess}.{ref.name}？" if guess else "别名由 引用 \"…\" 作为 别名 声明")
                return ERROR
            child = entry[1]
            if ref.name in child.enums:
                return enum_type(child.enums[ref.name])
            guess = closest(ref.name, list(child.enums))
            self.report("YB306", ref.span, f"{ref.qualifier} 中没有类型 {ref.name}",
                        f"是否想写 {ref.qualifier}.{guess}？" if guess else "")
            return ERROR
        if ref.name in PRIMITIVES:
            return PRIMITIVES[ref.name]
        if ref.name in scope.enums:
            return enum_type(scope.enums[ref.name])
        guess = closest(ref.name, [*PRIMITIVES, *scope.enums])
        hint = f"是否想写 {guess}？" if guess else "类型可以是 金额、比例、数、年数、月数、日数、日期、是否，或用 类型 声明的选项"
        self.report("YB306", ref.span, f"未知的类型：{ref.name}", hint)
        return ERROR

    def symbol_type(self, symbol: Symbol) -> Type:
        key = symbol.key
        known = self.program.types.get(key)
        if known is not None:
            return known
        scope = self.program.modules[symbol.module]
        decl = symbol.decl
        outer, self.clause = self.clause, getattr(decl, "clause", None)
        try:
            result = self._symbol_type(symbol, scope, decl)
        finally:
            self.clause = outer
        self.program.types[key] = result
        return result

    def _symbol_type(self, symbol: Symbol, scope: ModuleScope,
                     decl: ir.InputDecl | ir.ParamDecl | ir.Definition | ir.FunctionDecl | ir.Requirement
                     | ir.FieldDecl) -> Type:
        if isinstance(decl, ir.InputDecl):
            result = self.resolve_type(scope, decl.type, decl.name)
        elif isinstance(decl, ir.FieldDecl):
            result = self.resolve_type(scope, decl.type, symbol.name)
        elif isinstance(decl, (ir.ParamDecl, ir.Requirement)):
            result = self.resolve_type(scope, decl.type)
        elif isinstance(decl, ir.FunctionDecl):
            result = self.resolve_type(scope, decl.result)  # the body is checked in check_module
        elif isinstance(decl, ir.Definition):
            if symbol in self.in_progress:
                self.report_cycle(symbol)
                return ERROR
            self.in_progress.append(symbol)
            try:
                declared = self.resolve_type(scope, decl.type) if decl.type is not None else None
                inferred = self.infer(Context(scope, within=symbol.level), decl.expr, declared)
                if declared is not None:
                    self.agree(declared, inferred, decl.expr.span, f"定义 {decl.name} 声明为")
                    result = declared
                else:
                    result = inferred
            finally:
                self.in_progress.pop()
        else:
            assert_never(decl)
        return result

    def report_cycle(self, symbol: Symbol) -> None:
        start = self.in_progress.index(symbol)
        chain = [*self.in_progress[start:], symbol]
        key = frozenset(s.key for s in chain)
        if key in self.reported_cycles:
            return
        self.reported_cycles.add(key)
        path = " → ".join(s.name for s in chain)
        self.report("YB320", symbol.decl.span, f"定义之间循环依赖：{path}",
                    "每个数额只能由在它之前确定的数额算出；若要用往次结算的结果，请声明 输入 … 累计")

    def check_function(self, scope: ModuleScope, decl: ir.FunctionDecl) -> Type:
        result = self.resolve_type(scope, decl.result)
        params = {p.name for p in decl.params}
        ctx = Context(scope, {p.name: self.resolve_type(scope, p.type) for p in decl.params})
        body = self.infer(ctx, decl.body, result)
        self.agree(result, body, decl.body.span, f"函数 {decl.name} 声明返回")
        for node in _names_in(decl.body):
            if node.qualifier is None and node.name in params:
                continue
            found = lookup(scope, node)
            if found is not None and found.symbol.kind is not SymbolKind.FUNCTION:
                self.report("YB322", node.span,
                            f"函数 {decl.name} 读取了{found.symbol.kind.value}“{node.display}”：函数只能使用它的参数",
                            f"把“{node.display}”作为参数传入：函数 {decl.name}(…, {node.display}: 类型)")
        cycle = self.call_cycle(scope, decl)
        if cycle:
            self.report("YB321", decl.span, f"函数不能递归调用：{' → '.join(cycle)}",
                        "函数只做一步计算；逐年、逐次累计的规则请写成 分段累进、分档，或用 输入 … 累计")
        return result

    def call_cycle(self, scope: ModuleScope, start: ir.FunctionDecl) -> list[str] | None:
        """The chain of calls leading from `start` back to itself, if any (all of a module's at once, in linear time)."""
        from yibaolang.checks.nesting import function_cycles

        cycles = self.call_cycles.get(scope.path)
        if cycles is None:
            cycles = self.call_cycles[scope.path] = function_cycles(scope, self.program)
        return cycles.get(start.name)

    def check_input(self, ctx: Context, decl: ir.InputDecl) -> None:
        symbol = ctx.scope.own.get(qualified(decl.scope, decl.name))
        if symbol is None or symbol.decl is not decl:
            return
        kind = self.symbol_type(symbol)
        shown = symbol.name
        if decl.scope is not None and decl.scope != FUND:
            self.report("YB336", decl.span, f"输入 {shown}：每行的字段写在 列表 输入之下，不单独声明",
                        f"例如：输入 {decl.scope} : 列表，下一行起缩进写 {decl.name} : 类型")
        if kind.kind is Kind.LIST:
            if decl.scope is not None:
                self.report("YB336", decl.span, f"基金层的输入 {shown} 不能是列表", "列表输入属于一次结算")
            if not decl.fields:
                self.report("YB336", decl.span, f"列表输入 {shown} 没有写字段",
                            "在下一行起缩进写每行的字段，例如：编码 : 文本")
            if decl.accumulates is not None or decl.default is not None or decl.range_low is not None:
                self.report("YB336", decl.span, f"列表输入 {shown} 不能写 范围、默认 或 累计",
                            "这些选项写在各个字段上")
            seen: set[str] = set()
            for f in decl.fields:
                self.check_field(ctx, shown, f, seen)
            return
        if decl.fields:
            self.report("YB336", decl.fields[0].span, f"输入 {shown} 不是列表，不能在下面写字段",
                        f"要逐行给出，写作 输入 {decl.name} : 列表")
        if decl.scope == FUND and decl.accumulates is not None:
            self.report("YB336", decl.span, f"基金层的输入 {shown} 不能 累计", "累计 是同一个人往次结算的数")
        for what, expr in (("范围下限", decl.range_low), ("范围上限", decl.range_high), ("默认值", decl.default)):
            if expr is not None:
                got = self.infer(ctx, expr, kind)
                self.agree(kind, got, expr.span, f"输入 {decl.name} 的{what}应为")
        if decl.accumulates is not None:
            found = self.resolve_figure(ctx, decl.accumulates)
            if found is not None:
                self.agree(kind, self.symbol_type(found.symbol), decl.accumulates.span,
                           f"输入 {decl.name} 累计的数额应为")

    def check_field(self, ctx: Context, owner: str, f: ir.FieldDecl, seen: set[str]) -> None:
        if f.name in seen:
            self.report("YB302", f.span, f"列表 {owner} 的字段“{f.name}”重复", "每个字段只写一次")
        seen.add(f.name)
        kind = self.resolve_type(ctx.scope, f.type, qualified(owner, f.name))
        if kind.kind is Kind.LIST:
            self.report("YB336", f.type.span, f"字段 {owner}.{f.name} 不能又是列表", "明细的每一行是一组字段，不能嵌套列表")
        if f.nullable:
            self.report("YB336", f.span, f"字段 {owner}.{f.name} 不能写 可空", "案例没有给出的字段用 默认 给出取值")
        for what, expr in (("范围下限", f.range_low), ("范围上限", f.range_high), ("默认值", f.default)):
            if expr is not None:
                self.agree(kind, self.infer(ctx, expr, kind), expr.span, f"字段 {owner}.{f.name} 的{what}应为")

    def check_catalog(self, scope: ModuleScope, catalog: ir.CatalogDecl) -> None:
        """The declaration of a 目录; its data are checked against it by engines/catalogs.py."""
        ctx = Context(scope)
        seen: set[str] = set()
        for col in (catalog.key, *catalog.columns):
            if not col.name:
                continue
            if col.name in seen:
                self.report("YB302", col.span, f"目录 {catalog.name} 的列“{col.name}”重复", "每一列只写一次")
            seen.add(col.name)
            kind = self.resolve_type(scope, col.type, qualified(catalog.name, col.name))
            if kind.kind is Kind.LIST:
                self.report("YB336", col.type.span, f"目录 {catalog.name} 的列 {col.name} 不能是列表", "")
            if col.default is not None:
                self.report("YB336", col.span, f"目录的列 {col.name} 不能写 默认", "空着的格子用 可空，查目录 的 查无 给出取值")
            for what, expr in (("范围下限", col.range_low), ("范围上限", col.range_high)):
                if expr is not None:
                    self.agree(kind, self.infer(ctx, expr, kind), expr.span, f"目录列 {col.name} 的{what}应为")
        key_type = self.resolve_type(scope, catalog.key.type)
        if catalog.key.name and key_type.kind not in (Kind.TEXT, Kind.ENUM, Kind.NUMBER, Kind.ERROR):
            self.report("YB336", catalog.key.type.span, f"目录 {catalog.name} 的键应为 文本、数 或选项，这里是 {key_type.name}",
                        "例如：键 编码 : 文本")
        if catalog.key.nullable:
            self.report("YB336", catalog.key.span, f"目录 {catalog.name} 的键不能 可空", "")
        for name in (catalog.valid_from, catalog.valid_to):
            if name is None:
                continue
            declared = catalog.column(name)
            if declared is not None and self.resolve_type(scope, declared.type).kind not in (Kind.DATE, Kind.ERROR):
                self.report("YB336", declared.span, f"有效期的列 {name} 应为 日期", f"写作 列 {name} : 日期，或不写这一列")
        if catalog.valid_from is not None and catalog.valid_from == catalog.valid_to:
            self.report("YB336", catalog.span, "有效期 的生效列与失效列是同一列", "例如：有效期 生效日期 至 失效日期")

    def check_param(self, ctx: Context, decl: ir.ParamDecl) -> None:
        kind = self.resolve_type(ctx.scope, decl.type)
        previous = None
        low, high = decl.range_low, decl.range_high
        for what, bound in (("下限", low), ("上限", high)):
            if bound is not None:
                self.agree(kind, self.infer(ctx, bound, kind), bound.span, f"参数 {decl.name} 的范围{what}应为")
        if low is not None and high is not None and not kind.is_numeric and kind.kind is not Kind.ERROR:
            self.report("YB339", low.span, f"参数 {decl.name} 是 {kind.name}，不能写 范围", "范围 用于金额、比例、数和期限")
        for version in decl.versions:
            self.agree(kind, self.infer(ctx, version.value, kind), version.value.span, f"参数 {decl.name} 应为")
            self.within_choice(decl, version)
            if version.start is not None and previous is not None and version.start <= previous:
                self.report("YB318", version.span, f"参数 {decl.name} 的版本日期应从早到晚排列",
                            f"{version.start.isoformat()} 不晚于上一版本的 {previous.isoformat()}")
            previous = version.start
        if any(v.start is None for v in decl.versions[1:]):
            self.report("YB318", decl.span, f"参数 {decl.name} 的 此前 一行要写在各个版本之前",
                        "此前 给出第一个 自 日期 起 之前的取值，写在最前面")

    def within_choice(self, decl: ir.ParamDecl, version: ir.ParamVersion) -> None:
        """YB339: a parameter's chosen value outside the range its 原文 allows (docs/language.md §13.2)."""
        low, high, value = decl.range_low, decl.range_high, version.value
        if not (isinstance(low, ir.Literal) and isinstance(high, ir.Literal) and isinstance(value, ir.Literal)):
            return
        a, b, v = low.value, high.value, value.value
        if not (isinstance(a, Decimal) and isinstance(b, Decimal) and isinstance(v, Decimal)):
            return
        if a > b:
            self.report("YB339", low.span, f"参数 {decl.name} 的范围 {low.text} 至 {high.text} 上下限颠倒",
                        f"写作 范围 {high.text} 至 {low.text}")
        elif not a <= v <= b:
            self.report("YB339", value.span,
                        f"参数 {decl.name} 取 {value.text}，超出原文给出的 {low.text} 至 {high.text}",
                        f"在 {low.text} 至 {high.text} 之内选一个值；原文若已修订，请同时改 范围")

    def check_exception(self, ctx: Context, rule: ir.ExceptionRule) -> None:
        found = self.resolve_figure(ctx, rule.target)
        if found is not None and found.symbol.level is not None:
            ctx = Context(ctx.scope, within=found.symbol.level)
        self.expect(ctx, rule.condition, BOOL, "例外的条件")
        if found is None:
            self.infer(ctx, rule.value)
            return
        if found.symbol.kind not in (SymbolKind.DEFINITION, SymbolKind.PARAM):
            self.report("YB309", rule.target.span,
                        f"例外只能改变定义或参数，“{rule.target.display}”是{found.symbol.kind.value}",
                        "输入由案例提供；若要改变它的用法，请定义一个新数额并对它写例外")
            self.infer(ctx, rule.value)
            return
        target = self.symbol_type(found.symbol)
        self.agree(target, self.infer(ctx, rule.value, target), rule.value.span, f"例外给 {rule.target.display} 的值应为")
        known = {c.id for s in self.program.modules.values() for c in s.module.clauses}
        for other in rule.overrides:
            if other not in known:
                guess = closest(other, known)
                self.report("YB317", rule.span, f"优先于 的条款“{other}”不存在",
                            f"是否想写 \"{guess}\"？" if guess else "写出被优先的例外所在条款的编号")

    def check_binding(self, ctx: Context, imp: ir.Import, child: ModuleScope, binding: ir.Binding) -> None:
        target = child.own.get(binding.input)
        if target is None or target.kind is not SymbolKind.INPUT:
            inputs = [s.name for s in child.own.values() if s.kind is SymbolKind.INPUT]
            guess = closest(binding.input, inputs)
            self.report("YB316", binding.span, f"{imp.path} 没有名为“{binding.input}”的输入",
                        f"是否想写 {guess}？" if guess else "代入 只能绑定被引用政策的输入")
            self.infer(ctx, binding.value)
            return
        kind = self.symbol_type(target)
        self.agree(kind, self.infer(ctx, binding.value, kind), binding.value.span, f"代入 {binding.input} 的值应为")

    def check_basis(self, scope: ModuleScope, basis: ir.Basis) -> None:
        from yibaolang.checks.resolve import locate_basis

        found = locate_basis(self.program, scope, basis)
        if isinstance(found, Diagnostic):
            self.report(found.code, found.span, found.message, found.hint)

    def check_example(self, ctx: Context, example: ir.Example) -> None:
        for line in example.inputs:
            if line.name.name == "计算日期":
                self.agree(DATE, self.infer(ctx, line.value, DATE), line.value.span, "计算日期 应为")
                continue
            found = lookup(ctx.scope, line.name)
            if found is None or found.symbol.kind is not SymbolKind.INPUT:
                inputs = [n for n, (_, s) in ctx.scope.names.items() if s.kind is SymbolKind.INPUT]
                guess = closest(line.name.name, inputs)
                self.report("YB315", line.name.span, f"样例给出的“{line.name.name}”不是输入",
                            f"是否想写 {guess}？" if guess else "样例中 名 = 值 的行给出输入；期望 名 = 值 写预期结果")
                self.infer(ctx, line.value)
                continue
            kind = self.symbol_type(found.symbol)
            if kind.kind is Kind.LIST:  # docs/diagnostics.md#yb461: one line cannot hold the lines of a bill
                self.report("YB461", line.value.span, f"样例 不能给出列表输入 {line.name.name}：一行 名称 = 值 写不下逐行的明细",
                            f"把这个案例写进政策旁边的 *.cases.yaml，{line.name.name} 写成映射的列表（每行一个映射）")
                continue
            self.agree(kind, self.infer(ctx, line.value, kind), line.value.span, f"输入 {line.name.name} 应为")
        for line in example.expectations:
            found = self.resolve_figure(ctx, line.name)
            if found is None:
                self.infer(ctx, line.value)
                continue
            kind = self.symbol_type(found.symbol)
            self.agree(kind, self.infer(ctx, line.value, kind), line.value.span, f"{line.name.display} 应为")

    # -------------------------------------------------------------- helpers

    def agree(self, want: Type, got: Type, span: ir.Span, what: str) -> None:
        if want.kind is Kind.ERROR or got.kind is Kind.ERROR or comparable(want, got):
            return
        hint = _conversion_hint(want, got)
        self.report("YB203", span, f"类型不符：{what} {want.name}，这里是 {got.name}", hint)

    def expect(self, ctx: Context, expr: ir.Expr, want: Type, what: str) -> Type:
        got = self.infer(ctx, expr, want)
        if got.kind not in (Kind.ERROR, want.kind):
            hint = "条件要写成比较，例如 费用 超过 2万元" if got.kind is not Kind.BOOL else ""
            self.report("YB204", expr.span, f"{what}应为 {want.name}，这里是 {got.name}", hint)
        return got

    def resolve_figure(self, ctx: Context, name: ir.Name) -> Resolved | None:
        found = lookup(ctx.scope, name)
        if found is None:
            self.unknown_name(ctx, name)
        return found

    def unknown_name(self, ctx: Context, name: ir.Name) -> None:
        if name.qualifier is None and name.name in ctx.scope.module.unparsed:
            return  # declared in a statement with a syntax error, already reported
        if name.qualifier is not None and name.qualifier not in ctx.scope.aliases:
            guess = closest(name.qualifier, list(ctx.scope.aliases))
            self.report("YB301", name.span, f"未知的别名：{name.qualifier}",
                        f"是否想写 {guess}.{name.name}？" if guess else "别名由 引用 \"…\" 作为 别名 声明")
            return
        from yibaolang.frontend.syntax import split_glued

        candidates = [*all_names(ctx.scope), *ctx.locals]
        spaced = split_glued(name.display, set(candidates)) if name.qualifier is None else None
        if spaced:
            self.report("YB301", name.span, f"未知的名称：{name.display}",
                        f"“{name.display}”连在一起被读成了一个名称；是否想写 {spaced}？关键字与名称之间要有空格",
                        suggestions=(Suggestion(name.span, spaced, f"改为 {spaced}"),))
            return
        guess = closest(name.display, candidates)
        if guess:
            self.report("YB301", name.span, f"未知的名称：{name.display}", f"是否想写 {guess}？",
                        suggestions=(Suggestion(name.span, guess, f"改为 {guess}"),))
        else:
            self.report("YB301", name.span, f"未知的名称：{name.display}",
                        "请先用 输入、参数 或 定义 声明它")

    def enum_value(self, ctx: Context, name: ir.Name, expected: Type | None) -> Type | None:
        """A bare name that is an enumeration value, typed by what is expected."""
        if name.qualifier is not None:
            return None
        owners = ctx.scope.enum_values().get(name.name, [])
        if expected is not None and expected.kind is Kind.ENUM and expected.enum is not None:
            if name.name in expected.enum.values:
                return expected
            if owners:
                return None
        if len(owners) >= 1:
            return enum_type(owners[0])
        return None

    # -------------------------------------------------------------- expressions

    def infer(self, ctx: Context, expr: ir.Expr, expected: Type | None = None) -> Type:
        match expr:
            case ir.Literal(kind=kind):
                return LITERAL_TYPES[kind]
            case ir.Name():
                return self.name_type(ctx, expr, expected)
            case ir.Arith(op=op, left=left, right=right):
                lt = self.infer(ctx, left, expected if op in (ir.ArithOp.ADD, ir.ArithOp.SUB) else None)
                rt = self.infer(ctx, right, lt if op in (ir.ArithOp.ADD, ir.ArithOp.SUB) else None)
                result = arith_result(op, lt, rt)
                if result is None:
                    self.report("YB201", expr.span, f"类型不符：不能把 {lt.name} 与 {rt.name} {_ARITH_WORDS[op]}",
                                _arith_hint(op, lt, rt, left, right))
                    return ERROR
                return result
            case ir.Negate(operand=operand):
                got = self.infer(ctx, operand, expected)
                if got.kind not in (Kind.ERROR, Kind.MONEY, Kind.RATIO, Kind.NUMBER, *DURATIONS):
                    self.report("YB201", expr.span, f"类型不符：{got.name} 不能取负", "")
                    return ERROR
                return got
            case ir.Compare(left=left, right=right):
                lt = self.infer(ctx, left)
                rt = self.infer(ctx, right, lt)
                if lt.kind is Kind.ERROR and rt.kind is not Kind.ERROR and isinstance(left, ir.Name):
                    pass
                if not comparable(lt, rt):
                    self.report("YB202", expr.span, f"类型不符：不能比较 {lt.name} 与 {rt.name}", _compare_hint(lt, rt, right),
                                suggestions=_unit_fix(lt, rt, right))
                elif lt.kind in (Kind.BOOL, Kind.ENUM, Kind.TEXT) and expr.op not in (ir.CompareOp.EQ, ir.CompareOp.NE):
                    self.report("YB202", expr.span, f"{lt.name} 只能比较相等或不等，不能用“{expr.word}”", "用 = 或 ≠，选项可用 属于 {…}")
                return BOOL
            case ir.Member(subject=subject, values=values):
                st = self.infer(ctx, subject)
                if st.kind is Kind.ENUM and st.enum is not None:
                    self.check_enum_values(values, st, expr.span)
                elif st.kind is not Kind.ERROR:
                    self.report("YB208", subject.span, f"属于 的左边应为选项，这里是 {st.name}", "属于 {…} 用于判断选项的取值")
                return BOOL
            case ir.Between(subject=subject, low=low, high=high):
                st = self.infer(ctx, subject)
                for bound in (low, high):
                    bt = self.infer(ctx, bound, st)
                    if not comparable(st, bt):
                        self.report("YB202", bound.span, f"类型不符：不能比较 {st.name} 与 {bt.name}", _compare_hint(st, bt, bound),
                                    suggestions=_unit_fix(st, bt, bound))
                return BOOL
            case ir.Logic(left=left, right=right):
                self.expect(ctx, left, BOOL, f"“{expr.op.value}”的左边")
                self.expect(ctx, right, BOOL, f"“{expr.op.value}”的右边")
                return BOOL
            case ir.Not(operand=operand):
                self.expect(ctx, operand, BOOL, "“非”之后")
                return BOOL
            case ir.If(branches=branches, otherwise=otherwise):
                wanted: Type | None = expected
                types = []
                for branch in branches:
                    self.expect(ctx, branch.condition, BOOL, "如果 的条件")
                    types.append((self.infer(ctx, branch.value, wanted), branch.value))
                    wanted = wanted or types[-1][0]
                types.append((self.infer(ctx, otherwise, wanted), otherwise))
                return self.unify(types, "如果 的各分支")
            case ir.Bounded(kind=kind, value=value, limit=limit):
                vt = self.infer(ctx, value, expected)
                lt = self.infer(ctx, limit, vt)
                if not comparable(vt, lt):
                    self.report("YB201", expr.span, f"类型不符：不能用 {lt.name} 给 {vt.name} {kind.value}",
                                _compare_hint(vt, lt, limit), suggestions=_unit_fix(vt, lt, limit))
                    return ERROR
                if vt.kind in (Kind.BOOL, Kind.ENUM):
                    self.report("YB201", expr.span, f"{vt.name} 不能{kind.value}", "")
                    return ERROR
                return vt
            case ir.Call():
                return self.call(ctx, expr, expected)
            case ir.Banded():
                return self.banded(ctx, expr)
            case ir.Stepped():
                return self.stepped(ctx, expr, expected)
            case ir.Cases():
                return self.cases(ctx, expr, expected)
            case ir.Table():
                return self.table(ctx, expr, expected)
            case ir.Aggregate():
                return self.aggregate(ctx, expr)
            case ir.Lookup():
                return self.catalog_lookup(ctx, expr)
            case _:
                assert_never(expr)

    def name_type(self, ctx: Context, name: ir.Name, expected: Type | None) -> Type:
        if name.qualifier is None and name.name in ctx.locals:
            return ctx.locals[name.name]
        found = lookup(ctx.scope, name, ctx.within)
        if found is None and name.qualifier is None and name.name == EVALUATION_DATE:
            return DATE
        if found is not None:
            if found.symbol.kind is SymbolKind.FUNCTION:
                self.report("YB205", name.span, f"“{name.display}”是函数，要加括号调用", f"写作 {name.display}(…)")
                return ERROR
            got = self.symbol_type(found.symbol)
            if not self.level_allows(ctx, name, found.symbol, got):
                return ERROR
            return got
        as_value = self.enum_value(ctx, name, expected)
        if as_value is not None:
            return as_value
        if expected is not None and expected.kind is Kind.ENUM and expected.enum is not None:
            guess = closest(name.name, expected.enum.values)
            self.report("YB307", name.span, f"“{name.name}”不是 {expected.name} 的选项",
                        f"是否想写 {guess}？" if guess else f"{expected.name} 的选项有：{'、'.join(expected.enum.values)}")
            return ERROR
        self.unknown_name(ctx, name)
        return ERROR

    def level_allows(self, ctx: Context, name: ir.Name, symbol: Symbol, got: Type) -> bool:
        """Whether a figure of `symbol`'s level may be read where `ctx` stands (docs/itemized.md, levels)."""
        level, here = symbol.level, ctx.within
        if got.kind is Kind.LIST:
            self.report("YB331", name.span, f"列表 {symbol.name} 不能直接当作一个值",
                        f"用汇总函数：计数({symbol.name})、求和({symbol.name}.字段)")
            return False
        if level == here or symbol.kind in (SymbolKind.PARAM, SymbolKind.FUNCTION):
            return True
        if level == FUND:
            self.report("YB332", name.span, f"{name.display} 是基金层的数，这里是{_level_words(here)}",
                        f"一次结算的数不能依赖全部案例的结果；基金层的规定写作 定义 {FUND}.名称 或提到 {FUND}. 的 断言")
            return False
        if level is not None:
            self.report("YB331", name.span, f"{name.display} 是 {level} 每行的数，这里是{_level_words(here)}",
                        f"用汇总函数：求和({level}.{name.name})，或写成 定义 {level}.名称 = …")
            return False
        if here == FUND:
            self.report("YB337", name.span, f"{name.display} 是一次结算的数，基金层要汇总它",
                        f"写作 求和({FUND}.{name.name})（本次运行全部案例之和）")
            return False
        return True

    def unify(self, types: list[tuple[Type, ir.Expr]], what: str) -> Type:
        first: Type | None = None
        for got, node in types:
            if got.kind is Kind.ERROR:
                continue
            if first is None:
                first = got
            elif not comparable(first, got):
                self.report("YB206", node.span, f"类型不符：{what}应为同一类型，这里是 {got.name}，前面是 {first.name}",
                            _conversion_hint(first, got))
                return ERROR
        return first or ERROR

    def check_enum_values(self, values: tuple[str, ...], st: Type, span: ir.Span) -> None:
        assert st.enum is not None
        for value in values:
            if value not in st.enum.values:
                guess = closest(value, st.enum.values)
                self.report("YB307", span, f"“{value}”不是 {st.name} 的选项",
                            f"是否想写 {guess}？" if guess else f"{st.name} 的选项有：{'、'.join(st.enum.values)}")

    def call(self, ctx: Context, expr: ir.Call, expected: Type | None) -> Type:
        name = expr.display
        args = expr.args
        if builtins.is_builtin(expr):
            builtin = BUILTINS[name]
            low, high = builtin.min_args, builtin.max_args
            if len(args) < low or (high is not None and len(args) > high):
                example = f"例如 {name}({', '.join(['甲', '乙', '丙'][:max(low, 1)])})" if high is None else ""
                self.report("YB205", expr.span, f"{name} 需要{builtin.arity_text}参数，这里给了 {len(args)} 个", example)
                for arg in args:
                    if not (builtin.unit_argument and _is_unit(arg)):
                        self.infer(ctx, arg)
                return ERROR
            return self.builtin(ctx, expr, expected)
        found = lookup(ctx.scope, expr.callee)
        if found is None or found.symbol.kind is not SymbolKind.FUNCTION:
            for arg in args:
                self.infer(ctx, arg)
            functions = [*BUILTINS, *(n for n, (_, s) in ctx.scope.names.items() if s.kind is SymbolKind.FUNCTION)]
            for alias, (_, child) in ctx.scope.aliases.items():
                functions += [f"{alias}.{n}" for n, s in child.own.items() if s.kind is SymbolKind.FUNCTION]
            guess = closest(name, functions)
            self.report("YB308", expr.span, f"未知的函数：{name}",
                        f"是否想写 {guess}？" if guess else f"内置函数有：{'、'.join(BUILTINS)}")
            return ERROR
        decl = found.symbol.decl
        assert isinstance(decl, ir.FunctionDecl)
        result = self.symbol_type(found.symbol)
        scope = self.program.modules[found.symbol.module]
        if len(args) != len(decl.params):
            self.report("YB205", expr.span, f"函数 {name} 需要 {len(decl.params)} 个参数，这里给了 {len(args)} 个",
                        "参数：" + "，".join(f"{p.name}: {p.type.name or '选项'}" for p in decl.params))
        for arg, param in zip(args, decl.params, strict=False):
            want = self.resolve_type(scope, param.type)
            got = self.infer(ctx, arg, want)
            self.agree(want, got, arg.span, f"函数 {name} 的参数 {param.name} 应为")
        return result

    def builtin(self, ctx: Context, expr: ir.Call, expected: Type | None) -> Type:
        """A builtin's type, by its declaration in semantics/builtins.py."""
        decl, args = BUILTINS[expr.function], expr.args
        name = decl.name
        if decl.unit_argument and len(args) == 2:
            got = self.infer(ctx, args[0])
            if not _is_unit(args[1]):
                self.report("YB205", args[1].span, f"{name} 的第二个参数应为 分、角 或 元", f"例如 {name}(金额, 元)")
            if got.kind not in (Kind.MONEY, Kind.ERROR):
                self.report("YB205", args[0].span, f"{name} 到 分/角/元 只用于金额，这里是 {got.name}", "")
            return MONEY
        if decl.params is not None:
            for arg in args:
                self.agree(decl.params, self.infer(ctx, arg, decl.params), arg.span, f"{name} 的参数应为")
            assert decl.result is not None
            return decl.result
        if decl.accepts is not None:
            got = self.infer(ctx, args[0])
            if got.kind not in decl.accepts:
                self.report("YB205", args[0].span, decl.expects.format(name=name, type=got.name), "")
            return decl.result or got
        # The arguments give the result its type (取较小, 取较大, 四舍五入, 绝对值).
        hint = None if decl.unit_argument else expected
        if len(args) > 1:
            result = self.unify([(self.infer(ctx, a, hint), a) for a in args], f"{name} 的参数")
        else:
            result = self.infer(ctx, args[0], hint)
        if result.kind in decl.refuses:
            at = expr.span if decl.refusal_at_call else args[0].span
            self.report("YB205", at, decl.refusal.format(name=name, type=result.name), "")
            return ERROR
        return decl.result or result

    def aggregate(self, ctx: Context, expr: ir.Aggregate) -> Type:
        """求和/计数/最大值/最小值 over a list's lines or over 全体 (docs/itemized.md §2, §4)."""
        word, scope = expr.kind.value, ctx.scope
        if expr.over == FUND:
            if ctx.within != FUND:
                self.report("YB332", expr.span, f"{word}({FUND}…) 汇总本次运行的全部案例，这里是{_level_words(ctx.within)}",
                            f"写在基金层：定义 {FUND}.名称 = {word}({FUND}.…)，或提到 {FUND}. 的 断言")
                return ERROR
            inner = Context(scope, within=None)
        else:
            if expr.over not in scope.lists:
                guess = closest(expr.over, list(scope.lists))
                self.report("YB330", expr.item_span, f"{word} 的对象“{expr.over}”不是列表输入",
                            f"是否想写 {guess}？" if guess else "汇总的对象是 列表 输入，例如 求和(明细.明细金额)")
                return ERROR
            if ctx.within is not None:
                self.report("YB330", expr.span, f"{word}({expr.over}…) 只能用在一次结算的定义里，这里是{_level_words(ctx.within)}",
                            f"先写 定义 {expr.over}合计 = {word}(…)，再用它")
                return ERROR
            inner = Context(scope, within=expr.over)
        if expr.where is not None:
            self.expect(inner, expr.where, BOOL, "其中 的条件")
        item = item_name(expr)
        if item is None:
            return NUMBER
        found = lookup(scope, item, inner.within)
        if found is None or (expr.over != FUND and found.symbol.level != expr.over):
            names = [n for n in scope.own if n.startswith(f"{expr.over}.")] if expr.over != FUND else list(scope.names)
            guess = closest(qualified(expr.over, expr.item or ""), names)
            self.report("YB330", expr.item_span, f"{expr.over} 没有名为“{expr.item}”的字段或每行的定义",
                        f"是否想写 {guess}？" if guess else f"先写 定义 {expr.over}.{expr.item} = …")
            return ERROR
        got = self.name_type(inner, item, None)
        if got.kind is Kind.ERROR:
            return ERROR
        if expr.kind is ir.AggregateKind.SUM and not got.is_numeric:
            self.report("YB330", expr.item_span, f"求和 的对象应为金额、比例、数或期限，这里是 {got.name}",
                        "计数 用来数行数")
            return ERROR
        if expr.kind in (ir.AggregateKind.MAX, ir.AggregateKind.MIN) and not (got.is_numeric or got.kind is Kind.DATE):
            self.report("YB330", expr.item_span, f"{word} 的对象应为数额、期限或日期，这里是 {got.name}", "")
            return ERROR
        return got

    def catalog_lookup(self, ctx: Context, expr: ir.Lookup) -> Type:
        """查目录 目录.列 按 键 [于 日期] 查无 值 (docs/itemized.md §3)."""
        catalog = ctx.scope.catalogs.get(expr.catalog)
        if catalog is None:
            guess = closest(expr.catalog, list(ctx.scope.catalogs))
            self.report("YB333", expr.target_span, f"未知的目录：{expr.catalog}",
                        f"是否想写 {guess}？" if guess else "目录由 目录 名称 \"数据文件\" 声明")
            self.infer(ctx, expr.key)
            self.infer(ctx, expr.missing)
            return ERROR
        column = catalog.column(expr.column) if expr.column else None
        key_type = self.resolve_type(ctx.scope, catalog.key.type)
        self.agree(key_type, self.infer(ctx, expr.key, key_type), expr.key.span, f"目录 {catalog.name} 的键 {catalog.key.name} 应为")
        if catalog.valid_from is None and catalog.valid_to is None:
            if expr.date is not None:
                self.report("YB334", expr.date.span, f"目录 {catalog.name} 没有 有效期，不能写 于 日期",
                            "同一个键只有一行；要按日期选版本，在目录声明里写 有效期 生效日期 至 失效日期")
                self.infer(ctx, expr.date)
        elif expr.date is None:
            self.report("YB334", expr.span, f"目录 {catalog.name} 按 有效期 分版本，查目录 要写 于 日期",
                        f"例如：查目录 {catalog.name}.{expr.column or '列'} 按 … 于 就诊日期 查无 …")
        else:
            self.expect(ctx, expr.date, DATE, "于 之后")
        if column is None:
            if expr.column:
                names = [c.name for c in (catalog.key, *catalog.columns)]
                guess = closest(expr.column, names)
                self.report("YB333", expr.target_span, f"目录 {catalog.name} 没有列“{expr.column}”",
                            f"是否想写 {catalog.name}.{guess}？" if guess else f"列有：{'、'.join(names)}")
            self.infer(ctx, expr.missing)
            return ERROR
        result = self.resolve_type(ctx.scope, column.type, qualified(catalog.name, column.name))
        self.agree(result, self.infer(ctx, expr.missing, result), expr.missing.span,
                   f"查无 的值要与 {catalog.name}.{column.name} 同一类型")
        return result

    def bound_types(self, ctx: Context, subject: Type, bounds: Iterator[ir.Bound | None], what: str) -> None:
        for bound in bounds:
            if bound is None:
                continue
            got = self.infer(ctx, bound.value, subject)
            if not comparable(subject, got):
                self.report("YB207", bound.value.span, f"类型不符：{what}的界限应为 {subject.name}，这里是 {got.name}",
                            _compare_hint(subject, got, bound.value),
                            suggestions=_unit_fix(subject, got, bound.value))

    def banded(self, ctx: Context, expr: ir.Banded) -> Type:
        st = self.infer(ctx, expr.subject)
        if st.kind not in (Kind.MONEY, Kind.NUMBER, Kind.ERROR, *DURATIONS):
            self.report("YB207", expr.subject.span, f"分段累进 的对象应为金额或数，这里是 {st.name}", "")
            st = ERROR
        for band in expr.bands:
            self.bound_types(ctx, st, iter((band.lower, band.upper)), "分段")
            rate = self.infer(ctx, band.rate, RATIO)
            if rate.kind not in (Kind.RATIO, Kind.ERROR):
                self.report("YB207", band.rate.span, f"分段累进 的比例应为 比例，这里是 {rate.name}",
                            "写作百分数，例如 按 50%")
        return st if st.kind is not Kind.NUMBER else NUMBER

    def stepped(self, ctx: Context, expr: ir.Stepped, expected: Type | None) -> Type:
        st = self.infer(ctx, expr.subject)
        if st.kind in (Kind.BOOL, Kind.ENUM):
            self.report("YB207", expr.subject.span, f"分档 的对象应为数额或期限，这里是 {st.name}；选项请用 分情况", "")
            st = ERROR
        results = []
        for step in expr.steps:
            self.bound_types(ctx, st, iter((step.low, step.high) if step.low is not step.high else (step.low,)), "分档")
            results.append((self.infer(ctx, step.result, expected), step.result))
        if expr.otherwise is not None:
            results.append((self.infer(ctx, expr.otherwise, expected), expr.otherwise))
        return self.unify(results, "分档 的各行结果")

    def cases(self, ctx: Context, expr: ir.Cases, expected: Type | None) -> Type:
        st = self.infer(ctx, expr.subject)
        if st.kind is Kind.ENUM and st.enum is not None:
            for row in expr.rows:
                self.check_enum_values(row.values, st, row.span)
        elif st.kind is not Kind.ERROR:
            self.report("YB208", expr.subject.span, f"分情况 的对象应为选项，这里是 {st.name}", "数额的分档请用 分档")
        results = [(self.infer(ctx, row.result, expected), row.result) for row in expr.rows]
        if expr.otherwise is not None:
            results.append((self.infer(ctx, expr.otherwise, expected), expr.otherwise))
        return self.unify(results, "分情况 的各行结果")

    def table(self, ctx: Context, expr: ir.Table, expected: Type | None) -> Type:
        key_types = []
        for key in expr.keys:
            kt = self.infer(ctx, key)
            if kt.kind not in (Kind.ENUM, Kind.ERROR):
                self.report("YB208", key.span, f"查表 的键应为选项，这里是 {kt.name}", "数额的分档请用 分档")
                kt = ERROR
            key_types.append(kt)
        rows_t = key_types[0]
        if rows_t.kind is Kind.ENUM:
            for row in expr.rows:
                self.check_enum_values((row.key,), rows_t, row.span)
        if len(key_types) == 2 and key_types[1].kind is Kind.ENUM:
            for column, span in zip(expr.columns, expr.column_spans, strict=False):
                self.check_enum_values((column,), key_types[1], span)
        results = []
        width = len(expr.columns) if len(expr.keys) == 2 else 1
        for row in expr.rows:
            if len(row.cells) != width:
                self.report("YB208", row.span, f"查表 的行“{row.key}”有 {len(row.cells)} 格，表头有 {width} 列",
                            "每行的格数要与表头一致")
            for cell in row.cells:
                results.append((self.infer(ctx, cell, expected), cell))
        return self.unify(results, "查表 的各格")


def _level_words(level: str | None) -> str:
    if level is None:
        return "一次结算的数"
    if level == FUND:
        return "基金层的数"
    return f" {level} 每行的数"


def _walk(expr: ir.Expr) -> list[ir.Expr]:
    return list(walk(expr))


def _names_in(expr: ir.Expr) -> list[ir.Name]:
    return [node for node in _walk(expr) if isinstance(node, ir.Name)]


def _is_unit(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.Name) and expr.qualifier is None and expr.name in ROUNDING_UNITS


def _source_text(expr: ir.Expr) -> str | None:
    match expr:
        case ir.Name():
            return expr.display
        case ir.Literal():
            return expr.text
    return None


def _arith_hint(op: ir.ArithOp, lt: Type, rt: Type, left: ir.Expr, right: ir.Expr) -> str:
    if op in (ir.ArithOp.ADD, ir.ArithOp.SUB) and {lt.kind, rt.kind} == {Kind.MONEY, Kind.RATIO}:
        a, b = _source_text(left), _source_text(right)
        if a and b:
            return f"是否想写 {a} × {b}？"
        return "金额按比例计算用 ×"
    if {lt.kind, rt.kind} == {Kind.MONEY, Kind.NUMBER} and op in (ir.ArithOp.ADD, ir.ArithOp.SUB):
        number = right if rt.kind is Kind.NUMBER else left
        text = _source_text(number)
        return f"数字要带单位：是否想写 {text}元？" if text else "数字要带单位，例如 500元"
    if (lt.is_duration and rt.kind is Kind.NUMBER) or (rt.is_duration and lt.kind is Kind.NUMBER):
        if op in (ir.ArithOp.ADD, ir.ArithOp.SUB):
            unit = {Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "日"}[(lt if lt.is_duration else rt).kind]
            return f"数字要带单位，例如 1{unit}"
    if lt.is_duration and rt.is_duration and lt != rt:
        return "不同单位的期限不能直接运算；可用 数值(年数) × 1个月 把年换成月"
    if lt.kind is Kind.RATIO and rt.kind is Kind.RATIO and op is ir.ArithOp.ADD:
        return ""
    return "参见语言说明 §3 的运算规则"


def _compare_hint(lt: Type, rt: Type, right: ir.Expr) -> str:
    text = _source_text(right)
    if rt.kind is Kind.NUMBER and text and isinstance(right, ir.Literal):
        unit = {Kind.MONEY: "元", Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "日", Kind.RATIO: "%"}.get(lt.kind)
        if unit:
            return f"数字要带单位：是否想写 {text}{unit}？"
    return _conversion_hint(lt, rt)


def _unit_fix(lt: Type, rt: Type, right: ir.Expr) -> tuple[Suggestion, ...]:
    """The edit `_compare_hint` proposes for a bare number (`> 0` → `> 0年`), as a quick fix."""
    text = _source_text(right)
    unit = {Kind.MONEY: "元", Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "日", Kind.RATIO: "%"}.get(lt.kind)
    if rt.kind is not Kind.NUMBER or not text or not isinstance(right, ir.Literal) or unit is None:
        return ()
    return (Suggestion(right.span, f"{text}{unit}", f"改为 {text}{unit}"),)


def _conversion_hint(want: Type, got: Type) -> str:
    if want.kind is Kind.MONTHS and got.kind is Kind.YEARS:
        return "年数换成月数：数值(年数) × 12个月"
    if want.is_duration and got.kind is Kind.NUMBER:
        return "数字要带单位，例如 3个月、1年"
    if want.kind is Kind.MONEY and got.kind is Kind.NUMBER:
        return "数字要带单位，例如 500元"
    if want.kind is Kind.RATIO and got.kind is Kind.NUMBER:
        return "比例写作百分数，例如 90%"
    if want.kind is Kind.NUMBER and got.is_duration:
        return "取期限的数值用 数值(…)"
    return ""


def function_types(program: Program, scope: ModuleScope,
                   decl: ir.FunctionDecl) -> tuple[dict[str, tuple[int, Type]], Type]:
    """A declared function's parameters (position and type) and its result type, for the evaluators."""
    checker = Checker(program)
    params = {p.name: (i, checker.resolve_type(scope, p.type)) for i, p in enumerate(decl.params)}
    result = program.types.get((scope.path, decl.name)) or checker.resolve_type(scope, decl.result)
    return params, result


def check_program(program: Program) -> Program:
    Checker(program).run()
    return program


def check_path(path: str, overrides: dict[str, str] | None = None) -> Program:
    from yibaolang.checks.resolve import load_program

    return check_program(load_program(path, overrides))
