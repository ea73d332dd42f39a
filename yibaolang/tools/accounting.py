"""Honest accounting of a batch run (docs/batch.md, "出错的行与合计"; docs/diagnostics.md YB480–YB483).

`run --cases` and `compare` never let a failed row vanish from the figures:

- each problem of a row is a `Coded` text — a `str` (so the 错误 column is unchanged) that also knows its
  diagnostic code and where it comes from (the 条款, the input column, the policy line);
- a `Tally` counts the failed rows and groups their problems by code and place, with a count and the first
  row of each group as the example (row number + message);
- an `ErrorBound` (`--max-error-rate`) stops a run whose share of failed rows exceeds the bound, once
  `MIN_ROWS` rows have been evaluated (or at the end of a smaller file): `TooManyErrors`, and no output is
  written (the writers abort; yibaolang/files.py removes the temporary file).

This module imports nothing from the batch engine: `batch`, `columns` and `compare` build on it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

# Before this many rows, a share of failed rows says little (three bad rows of the first ten are 30%):
# the bound is checked once this many rows have been evaluated, and at the end of a smaller file.
MIN_ROWS = 1000

READING = "YB480"  # a row of the case file that could not be read (no cell of it is used)
ALONE = "YB481"  # a claim settled on its own: no person or no claim date (`--person`)
TOO_MANY = "YB482"  # --max-error-rate exceeded
BAD_BOUND = "YB483"  # --max-error-rate written wrongly

# The title of every code a batch row can fail with (the headings of docs/diagnostics.md; a test checks them).
TITLES = {
    "YB403": "值读不出来或单位不对",
    "YB404": "不是声明的选项",
    "YB405": "日期不存在",
    "YB406": "超出范围",
    "YB407": "金额的小数位过多",
    "YB410": "缺少输入",
    "YB411": "除数为零",
    "YB412": "例外冲突",
    "YB413": "计算日期早于参数的第一个版本",
    "YB414": "需要计算日期",
    "YB415": "断言不成立",
    "YB416": "期限不是整数",
    "YB417": "日期超出范围或不存在",
    "YB418": "没有相符的档、行或格",
    "YB419": "计算结果超出范围",
    "YB420": "要求的数额没有定义",
    "YB422": "分段颠倒",
    "YB423": "计算步数超过上限",
    "YB424": "计算嵌套过深",
    "YB499": "内部错误",
    READING: "案例文件的一行读不出来",
    ALONE: "理赔无法按人累计",
}


class Coded(str):
    """The text of one problem of a row, with its diagnostic code and where it comes from.

    `where` is what the problem is grouped by besides the code: "条款 二、(五)", "输入 费用", a policy
    line "政策.ybl:12"; empty for a problem of the row itself (a line that could not be read)."""

    code: str
    where: str

    def __new__(cls, text: str, code: str, where: str = "") -> Coded:
        made = super().__new__(cls, text)
        made.code = code
        made.where = where
        return made

    def __reduce__(self) -> Any:  # the dask engine sends rows' problems between processes
        return (Coded, (str(self), self.code, self.where))


def coded(text: str, code: str, where: str = "") -> Coded:
    """`text` with a code; a text that already has one keeps it (a converted cell's YB403 stays YB403)."""
    if isinstance(text, Coded):
        return text
    return Coded(text, code, where)


def retold(original: str, text: str) -> str:
    """`text` (a rewording of `original`) with `original`'s code and place."""
    if isinstance(original, Coded):
        return Coded(text, original.code, original.where)
    return text


def diagnostic_text(d: Any) -> Coded:
    """An interpreter diagnostic as a row's problem: its message, code and clause (else its policy line)."""
    clause = d.clause
    if clause is not None and not isinstance(clause, str):
        clause = getattr(clause, "raw_id", None) or getattr(clause, "id", None)
    if clause:
        where = f"条款 {clause}"
    elif d.span.line > 0:
        where = f"{d.span.file}:{d.span.line}"
    else:
        where = d.span.file or ""
    return Coded(d.message, d.code, where)


def key_of(text: str) -> tuple[str, str]:
    if isinstance(text, Coded):
        return (text.code, text.where)
    return (READING, "")  # a reading problem of the row (the readers' texts carry no code)


def title(code: str) -> str:
    return TITLES.get(code, "")


# ------------------------------------------------------------------ counting


@attrs.define
class Group:
    code: str
    where: str
    rows: int = 0
    example_row: int = 0  # 1-based row of the case file
    example: str = ""

    @property
    def title(self) -> str:
        return title(self.code)


@attrs.define
class Tally:
    """Failed rows of one run (one version of a policy), grouped by code and place."""

    rows: int = 0  # rows evaluated
    failed: int = 0  # rows with at least one problem
    groups: dict[tuple[str, str], Group] = attrs.Factory(dict)

    def add(self, offset: int, n: int, failures: Mapping[int, Sequence[str]]) -> None:
        """`n` more rows starting at row `offset` (0-based) of the file; `failures`: chunk row → its problems."""
        self.rows += n
        self.failed += len(failures)
        # Rows with the same problems (the same text objects: the engine and the cell converters share one per
        # distinct message) are counted together, so half a million failing rows cost one cheap pass
        # (docs/performance.md#出错的行留在引擎里). Each group's example is still its first row.
        alike: dict[tuple[int, ...], list[Any]] = {}
        previous: Any = None
        found: list[Any] = []
        for row, texts in failures.items():
            if texts is not previous:  # consecutive rows often share the very list (tools/batch.py)
                previous = texts
                same = tuple(map(id, texts))
                found = alike.setdefault(same, [row, 0, texts])
            found[1] += 1
            if row < found[0]:
                found[0] = row
        for first, count, texts in sorted(alike.values(), key=lambda f: int(f[0])):
            seen: set[tuple[str, str]] = set()
            for text in texts:
                key = key_of(text)
                if key in seen:
                    continue
                seen.add(key)
                group = self.groups.get(key)
                if group is None:
                    group = self.groups[key] = Group(key[0], key[1], 0, offset + first + 1, str(text))
                group.rows += count

    def ordered(self) -> list[Group]:
        """Largest groups first (then by code and place, so the order is the same on every run)."""
        return sorted(self.groups.values(), key=lambda g: (-g.rows, g.code, g.where))


NOTE = "一行有几个问题时各计一次；行号不算表头，与结果文件的行对应"  # said above every list of groups


def group_label(group: Group) -> str:
    label = f"{group.code} {group.title}".rstrip()
    return f"{label}（{group.where}）" if group.where else label


def text_lines(tally: Tally, indent: str = "  ", visible: Any = str) -> list[str]:
    """The groups as text lines: code, title, place, rows, and the example row."""
    lines = []
    for group in tally.ordered():
        lines.append(f"{indent}{visible(group_label(group))}：{group.rows:,} 行")
        lines.append(f"{indent}  例：第 {group.example_row:,} 行：{visible(_shorten(group.example))}")
    return lines


def json_groups(tally: Tally) -> list[dict[str, Any]]:
    return [{"code": g.code, "title": g.title, "where": g.where, "rows": g.rows,
             "example": {"row": g.example_row, "message": g.example}} for g in tally.ordered()]


def html_table(tally: Tally) -> str:
    e = html.escape
    parts = ['<table><tr><th class="label">代码</th><th class="label">问题</th><th class="label">出处</th>'
             '<th>行数</th><th class="label">例</th></tr>']
    for g in tally.ordered():
        parts.append(f'<tr><td class="label"><code>{e(g.code)}</code></td><td class="label">{e(g.title)}</td>'
                     f'<td class="label">{e(g.where)}</td><td>{g.rows:,}</td>'
                     f'<td class="label">第 {g.example_row:,} 行：{e(_shorten(g.example))}</td></tr>')
    parts.append("</table>")
    return "\n".join(parts)


def _shorten(text: str, limit: int = 160) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------ --max-error-rate


@attrs.frozen
class ErrorBound:
    rate: Decimal  # 0 ≤ rate ≤ 1
    text: str  # as the user wrote it

    def exceeded(self, rows: int, failed: int, final: bool = False) -> bool:
        """Whether `failed` of `rows` is beyond the bound (checked from MIN_ROWS rows on, or at the end)."""
        if rows == 0 or (rows < MIN_ROWS and not final):
            return False
        return Decimal(failed) > self.rate * rows


def parse_bound(text: str) -> ErrorBound:
    """`5%`, `0.5%`, `0.05` (a share), `0`; full-width digits and ％ are accepted. ValueError in Chinese otherwise."""
    import unicodedata

    written = text
    text = unicodedata.normalize("NFKC", text).strip()
    percent = text.endswith("%")
    number = text[:-1].strip() if percent else text
    try:
        value = Decimal(number)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise ValueError(f"不是比例：{written}，应写作 5% 或 0.05")
    rate = value / 100 if percent else value
    if rate < 0 or rate > 1:
        raise ValueError(f"{written} 不在 0 至 100% 之间，应写作 5% 或 0.05")
    return ErrorBound(rate, written)


def shown_rate(failed: int, rows: int) -> str:
    """The share as a percentage with two decimals, exact (no float): 52.30%."""
    if rows == 0:
        return "0.00%"
    share = (Decimal(failed) * 100 / Decimal(rows)).quantize(Decimal("0.01"))
    return f"{share}%"


class TooManyErrors(Exception):
    """The share of failed rows exceeded --max-error-rate: the run stops and writes nothing (YB482)."""

    def __init__(self, bound: ErrorBound, rows: int, failed: int, tallies: Sequence[tuple[str, Tally]],
                 what: str = "") -> None:
        super().__init__(bound.text)
        self.bound = bound
        self.rows = rows
        self.failed = failed
        self.tallies = list(tallies)  # (label, tally): ("", run) or ("旧版本", …), ("新版本", …)
        self.what = what  # "至少在一个版本中" for compare

    def message(self) -> str:
        return (f"出错的行超过了 --max-error-rate {self.bound.text}：已读 {self.rows:,} 行，其中 {self.failed:,} 行"
                f"{self.what}出错（{shown_rate(self.failed, self.rows)}），已停止，没有写出结果")

    def hint(self) -> str:
        parts = []
        for label, tally in self.tallies:
            top = tally.ordered()[:1]
            if top:
                g = top[0]
                parts.append(f"{label}最多的是 {group_label(g)}，{g.rows:,} 行，例如第 {g.example_row:,} 行："
                             f"{_shorten(g.example, 80)}")
        reason = "；".join(parts)
        return (reason + "。" if reason else "") + "请先改正案例数据或政策；确实要算完时放宽或去掉 --max-error-rate"

    def diagnostic(self, cases: str) -> Any:
        from yibaolang.diagnostics import error
        from yibaolang.ir import Span

        return error(TOO_MANY, Span(cases, 0, 0, 0, 0), self.message(), self.hint())


def resliced(tables: Iterable[Any], start: int = MIN_ROWS) -> Iterator[tuple[Any, int]]:
    """Each table, its first rows cut into growing slices (`start`, `start`, 2·`start`, 4·`start`, …) so that
    --max-error-rate is checked early; then whole tables.  Yields (slice, offset of the slice in its table)."""
    done = 0
    for table in tables:
        n = table.num_rows
        at = 0
        while at < n:
            if done >= n:
                size = n - at
            else:
                size = min(n - at, max(start, done))
            yield table.slice(at, size) if (at, size) != (0, n) else table, at
            at += size
            done += size
        if n == 0:
            yield table, 0


__all__ = ["Coded", "ErrorBound", "Group", "Tally", "TooManyErrors", "coded", "diagnostic_text", "parse_bound",
           "resliced", "retold"]
