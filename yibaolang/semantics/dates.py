"""Calendar arithmetic under 民法典 第二百零二条.

A period counted in months or years ends on the corresponding day of the
final month; where that month has no such day, on its last day.  Each shift
reports whether that rule had to be applied, so the explanation can say so.

>>> add_months(dt.date(2025, 1, 31), 1)
(datetime.date(2025, 2, 28), True)
>>> add_months(dt.date(2024, 1, 31), 1)
(datetime.date(2024, 2, 29), True)
>>> add_years(dt.date(2024, 2, 29), 1)
(datetime.date(2025, 2, 28), True)
>>> add_months(dt.date(2025, 3, 15), 6)
(datetime.date(2025, 9, 15), False)
>>> months_between(dt.date(2025, 1, 31), dt.date(2025, 2, 28))
1
>>> years_between(dt.date(2020, 3, 1), dt.date(2025, 2, 28))
4
"""

from __future__ import annotations

import calendar
import datetime as dt

CIVIL_CODE_RULE = "民法典 第二百零二条"


class DateRangeError(ValueError):
    """The result falls outside the years 1–9999."""


def add_months(start: dt.date, months: int) -> tuple[dt.date, bool]:
    """`start` + `months`, and whether the month had no corresponding day."""
    total = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise DateRangeError(f"{start.isoformat()} 加 {months}个月 超出了可表示的年份")
    last = calendar.monthrange(year, month0 + 1)[1]
    day = min(start.day, last)
    return dt.date(year, month0 + 1, day), day != start.day


def add_years(start: dt.date, years: int) -> tuple[dt.date, bool]:
    return add_months(start, 12 * years)


def add_days(start: dt.date, days: int) -> dt.date:
    try:
        return start + dt.timedelta(days=days)
    except OverflowError as exc:
        raise DateRangeError(f"{start.isoformat()} 加 {days}日 超出了可表示的年份") from exc


def days_between(a: dt.date, b: dt.date) -> int:
    """b − a in days (positive when b is later)."""
    return (b - a).days


def months_between(a: dt.date, b: dt.date) -> int:
    """Whole months from a to b: the largest n with a + n个月 ≤ b (negative when b is earlier)."""
    if b < a:
        return -months_between(b, a)
    n = (b.year - a.year) * 12 + (b.month - a.month)
    while n > 0 and add_months(a, n)[0] > b:
        n -= 1
    return n


def years_between(a: dt.date, b: dt.date) -> int:
    """Whole years from a to b: the largest n with a + n年 ≤ b."""
    if b < a:
        return -years_between(b, a)
    n = b.year - a.year
    while n > 0 and add_years(a, n)[0] > b:
        n -= 1
    return n


def month_end_note(start: dt.date, amount: int, unit: str, result: dt.date) -> str:
    """The sentence the explanation prints when the month-end rule applied."""
    return (f"按{CIVIL_CODE_RULE}：{start.isoformat()} 加 {amount}{unit}，{result.year}年{result.month}月"
            f"没有{start.day}日，以该月最后一日 {result.isoformat()} 为期限末日")
