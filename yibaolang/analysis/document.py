"""A policy document as the bureau has it: its text, its own numbering, its sentences and their quantities.

`yibaolang init` builds a skeleton from it and `yibaolang coverage` measures a
policy file against it (docs/init.md).  Everything here works on the verbatim
text: offsets point into `Document.text`, so a 原文 copied from a `Section`
is the document's own characters.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import attrs

# ---------------------------------------------------------------- reading


class DocumentError(Exception):
    """A document that cannot be read: a diagnostic code, the message and a hint for the user."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def read_document(path: str | Path) -> str:
    """The text of a .txt (UTF-8 or GB18030) or .docx document, newlines normalised."""
    file = Path(path)
    if file.suffix.lower() == ".docx":
        return _read_docx(file)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise DocumentError("YB003", f"无法读取文件：{exc.strerror or exc}", "请检查路径与权限") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DocumentError("YB002", "文件既不是 UTF-8 也不是 GB18030 编码的文本",
                            "请把原文另存为 UTF-8 文本，或直接给出 .docx 文件")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_docx(file: Path) -> str:
    try:
        import docx
    except ImportError:
        raise DocumentError("YB003", "读取 .docx 需要 python-docx", "pip install 'yibaolang[docx]'") from None
    try:
        document = docx.Document(str(file))
    except Exception as exc:  # python-docx raises several unrelated types for a broken package
        raise DocumentError("YB003", f"不是可读的 .docx 文件（{type(exc).__name__}）",
                            "请用 Word 或 WPS 打开后另存为 .docx，或另存为文本") from None
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


# ---------------------------------------------------------------- quantities

_CN_DIGITS = {"零": 0, "\u3007": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUMBER = "[零\u3007一二两三四五六七八九十百千]+"


def cn_int(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20, 一百零五 → 105; None when `text` is not a Chinese numeral.

    >>> [cn_int(t) for t in ("三", "十", "十二", "二十", "一百零五", "甲")]
    [3, 10, 12, 20, 105, None]
    """
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
    return total + (digit or 0)


@attrs.frozen
class Quantity:
    """One quantity of a sentence: its kind (金额, 比例, 期限, 倍数), its text and its value in a plain unit."""

    kind: str
    text: str
    value: Decimal  # 金额 in 元, 比例 as a fraction, 期限 in its unit, 倍数 as a number
    unit: str = ""  # 期限's unit: 年, 个月, 日
    start: int = 0  # offset within the sentence


_NUM = r"\d+(?:\.\d+)?"
_QUANTITY = re.compile(
    rf"(?P<money>(?P<mn>{_NUM})\s*(?P<mm>万|亿)?\s*元)"
    rf"|(?P<pct>(?P<pn>{_NUM})\s*[%％])"
    rf"|(?P<cnpct>百分之(?P<cpn>{CN_NUMBER}))"
    rf"|(?P<pts>(?P<ptn>{_NUM}|{CN_NUMBER})\s*个百分点)"
    rf"|(?P<times>(?P<tn>{_NUM}|{CN_NUMBER})\s*倍)"
    rf"|(?P<dur>(?<![\d年月第])(?P<dn>\d{{1,3}}|{CN_NUMBER})\s*(?P<du>个月|周年|年(?![\d度底初末份])|日(?!\d)|天|周))"
    rf"|(?P<en_money>(?P<emn>{_NUM})\s*(?P<emm>ten thousand\s+)?yuan)"
    rf"|(?P<en_dur>(?P<edn>\d{{1,3}})\s*(?P<edu>months?|years?|days?)\b)",
    re.IGNORECASE,
)
_BAND = re.compile(rf"{_NUM}\s*(?:万|亿)?\s*(?:元)?\s*(?:\(含\)|（含）)?\s*(?:至|到|-|—|－|~|\uff5e)\s*{_NUM}\s*(?:万|亿)?\s*元")


def _number(text: str) -> Decimal | None:
    value = cn_int(text)
    if value is not None:
        return Decimal(value)
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def quantities(sentence: str) -> list[Quantity]:
    """The amounts, ratios, durations and multiples a sentence states, in order.

    >>> [(q.kind, q.text, str(q.value)) for q in quantities("2 万元至10 万元(含)之间报销50%,满3个月")]
    [('金额', '2 万元', '20000'), ('金额', '10 万元', '100000'), ('比例', '50%', '0.5'), ('期限', '3个月', '3')]
    """
    found: list[Quantity] = []
    for m in _QUANTITY.finditer(sentence):
        kind, value, unit = "", None, ""
        if m.group("money"):
            kind, value = "金额", _number(m.group("mn"))
            scale = {"万": 10_000, "亿": 100_000_000}.get(m.group("mm") or "", 1)
            value = value * scale if value is not None else None
        elif m.group("en_money"):
            kind, value = "金额", _number(m.group("emn"))
            if value is not None and m.group("emm"):
                value *= 10_000
        elif m.group("pct"):
            kind, value = "比例", _number(m.group("pn"))
            value = value / 100 if value is not None else None
        elif m.group("cnpct"):
            kind, value = "比例", _number(m.group("cpn"))
            value = value / 100 if value is not None else None
        elif m.group("pts"):
            kind, value = "比例", _number(m.group("ptn"))
            value = value / 100 if value is not None else None
            unit = "个百分点"
        elif m.group("times"):
            kind, value = "倍数", _number(m.group("tn"))
        elif m.group("dur"):
            kind, value, unit = "期限", _number(m.group("dn")), m.group("du").replace("周年", "年").replace("天", "日")
        elif m.group("en_dur"):
            kind, value = "期限", _number(m.group("edn"))
            unit = {"m": "个月", "y": "年", "d": "日"}[m.group("edu")[0].lower()]
        if value is not None:
            found.append(Quantity(kind, m.group(0), value, unit, m.start()))
    return found


def bands(sentence: str) -> list[str]:
    """The ranges of amounts a sentence names (`2 万元至10 万元`)."""
    return [m.group(0) for m in _BAND.finditer(sentence)]


# ---------------------------------------------------------------- numbering

# The markers a Chinese policy document numbers its items with, outermost first
# in the usual order; the nesting of a particular document is read from the
# order in which its kinds appear, not from this list.
_MARKERS: tuple[tuple[str, str], ...] = (
    ("章", rf"第(?:{CN_NUMBER}|\d+)章"),
    ("条", rf"第(?:{CN_NUMBER}|\d+)条"),
    ("一、", rf"{CN_NUMBER}[、.\uff0e]"),
    ("(一)", rf"[(（]{CN_NUMBER}[)）]"),
    ("1.", r"\d{1,2}(?:[.\uff0e](?!\d)|、)"),
    ("(1)", r"[(（]\d{1,2}[)）]"),
    ("①", r"[①②③④⑤⑥⑦⑧⑨⑩]"),
    ("I.", r"(?:I|II|III|IV|V|VI|VII|VIII|IX|X)\.(?=\s)"),
)
_MARKER = re.compile("|".join(f"(?P<k{i}>{pattern})" for i, (_, pattern) in enumerate(_MARKERS)))
# Where a marker may stand: at the start of a line, or after the end of a sentence
# or a colon (documents pasted from web pages run several items into one line).
_BREAK = re.compile(r"(?:^|(?<=[。:：;；!！?？]))[ \t\u3000]*", re.MULTILINE)


@attrs.frozen
class Sentence:
    text: str
    start: int  # offset in Document.text
    section: str | None  # id of the Section it belongs to
    quantities: tuple[Quantity, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@attrs.frozen
class Section:
    """One numbered item of the document: its id built from the numbering above it, and its verbatim text."""

    id: str
    marker: str
    heading: str  # the item's own first sentence when it is short (its title), else ""
    text: str  # verbatim, from the marker's end to the next marker (paragraphs joined by newlines)
    start: int
    line: int
    depth: int
    body: str = ""  # the text without the title and without a signature at its end: the skeleton's 原文


@attrs.frozen
class Header:
    title: str | None = None
    doc_number: str | None = None
    issuer: str | None = None
    published: dt.date | None = None
    effective: dt.date | None = None
    status: str | None = None


@attrs.frozen
class Document:
    path: str
    text: str
    header: Header
    sections: tuple[Section, ...]
    sentences: tuple[Sentence, ...]  # the body's sentences that carry a quantity

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


def normalise_id(text: str) -> str:
    """A clause id in the house form: ASCII parentheses and dot, no spaces.

    >>> normalise_id("三、（八） 4\uff0e")
    '三、(八)4.'
    """
    return re.sub(r"\s+", "", text.translate(str.maketrans("（）\uff0e", "().")))


def canonical_id(text: str) -> str:
    """A clause id with every number as digits, so `一、(三)` and `1、(3)` compare equal.

    >>> canonical_id("一、(三)") == canonical_id("1、(3)")
    True
    """
    out = normalise_id(text)
    return re.sub(CN_NUMBER, lambda m: str(cn_int(m.group(0))) if cn_int(m.group(0)) is not None else m.group(0), out)


def _is_translation(line: str, chinese_document: bool) -> bool:
    """A line in another language than the document's (a machine translation pasted alongside)."""
    letters = [ch for ch in line if ch.isalpha()]
    if not letters or not chinese_document:
        return False
    cjk = sum(1 for ch in letters if "\u3400" <= ch <= "\u9fff")
    return cjk / len(letters) < 0.05


def _paragraph_counter(lines: list[str]) -> re.Pattern[str] | None:
    """`(12)  ` in front of most lines: a web page's paragraph counter, not the document's numbering."""
    counter = re.compile(r"^\(\d+\)[ \t]{2,}")
    filled = [line for line in lines if line.strip()]
    if filled and sum(1 for line in filled if counter.match(line)) >= 0.5 * len(filled):
        return counter
    return None


def parse_document(text: str, path: str = "") -> Document:
    lines = text.split("\n")
    letters = [ch for ch in text if ch.isalpha()]
    chinese = bool(letters) and sum(1 for ch in letters if "\u3400" <= ch <= "\u9fff") > 0.3 * len(letters)
    counter = _paragraph_counter(lines)
    # Body spans: (start offset, text) of each line that belongs to the body, counters cut off.
    body: list[tuple[int, int, str]] = []  # (offset, line number, text)
    offset = 0
    for number, line in enumerate(lines, 1):
        start = offset
        offset += len(line) + 1
        if _is_translation(line, chinese):
            continue
        if counter is not None and (m := counter.match(line)):
            start += m.end()
            line = line[m.end():]
        body.append((start, number, line))
    sections = _sections(body, chinese)
    sentences = _sentences(body, sections)
    # The header is read from the text before the first item and from the last lines (the
    # signature, "本办法自…起施行"): a web page may paste other documents' fields in between.
    head_end = sections[0].start if sections else len(text)
    tail = "\n".join(lines[-30:])
    return Document(path, text, read_header(text[:head_end], tail), tuple(sections), tuple(sentences))


def _marker_number(marker: str) -> int | None:
    digits = re.sub(r"[^0-9零\u3007一二两三四五六七八九十百千]", "", marker)
    if digits.isdigit():
        return int(digits)
    return cn_int(digits)


def _marker_kind(m: re.Match[str]) -> int:
    return next(i for i in range(len(_MARKERS)) if m.group(f"k{i}"))


def _sections(body: list[tuple[int, int, str]], chinese: bool) -> list[Section]:
    """Split the body at its markers; an id is the chain of markers above an item."""
    found: list[tuple[int, int, int, str]] = []  # (offset of marker, offset of its end, line, marker)
    kinds: list[int] = []
    last: dict[int, int] = {}  # the number of the last marker of each kind
    for start, number, line in body:
        breaks = {brk.end() for brk in _BREAK.finditer(line)}
        for m in _MARKER.finditer(line):
            kind = _marker_kind(m)
            if _MARKERS[kind][0] == "I." and chinese:
                continue
            value = _marker_number(m.group(0))
            # Mid-sentence, only a bracketed marker that continues its kind's count starts an
            # item (`二、构建多层次大病保障体系(五)深入实施…`); elsewhere it is part of the text.
            if m.start() not in breaks and not (
                _MARKERS[kind][0] in ("(一)", "(1)") and value is not None and value == last.get(kind, 0) + 1
            ):
                continue
            if value is not None:
                last[kind] = value
            rest = line[m.end():m.end() + 1]
            if not rest.strip() and m.end() >= len(line.rstrip()):
                continue  # a bare marker at the end of a line is not an item
            found.append((start + m.start(), start + m.end(), number, m.group(0)))
            kinds.append(kind)
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []  # (kind, marker)
    used: dict[str, int] = {}
    ends: list[int | None] = [f[0] for f in found[1:]]
    if found:
        ends.append(None)
    for (mstart, mend, number, marker), kind, end in zip(found, kinds, ends, strict=True):
        kinds_open = [k for k, _ in stack]
        if kind in kinds_open:
            del stack[kinds_open.index(kind):]
        stack.append((kind, marker))
        item_id = normalise_id("".join(mk for _, mk in stack))
        used[item_id] = used.get(item_id, 0) + 1
        if used[item_id] > 1:
            item_id = f"{item_id}#{used[item_id]}"
        text = _span_text(body, mend, end)
        heading, rest = _heading(text)
        sections.append(Section(item_id, marker, heading, text, mstart, number, len(stack) - 1,
                                _unsigned(rest) or rest or text))
    return sections


def _heading(text: str) -> tuple[str, str]:
    r"""An item's title and the text after it: a short first line without a sentence end
    (`起付标准`), or a short first sentence that more text follows (`(一)完善参保政策。推动…`).

    >>> _heading("起付标准\n起付标准为200元。")
    ('起付标准', '起付标准为200元。')
    >>> _heading("完善参保政策。推动公民依法参保。")
    ('完善参保政策', '推动公民依法参保。')
    >>> _heading("本办法自2025年1月1日起施行。")
    ('', '本办法自2025年1月1日起施行。')
    """
    first_line, _, later = text.partition("\n")
    if first_line and len(first_line) <= 40 and not re.search(r"[。;；!！?？]", first_line):
        return first_line.rstrip(":：").strip(), later
    m = re.match(r"([^。:：;；]{1,24})[。:：]", first_line)
    if m is not None and (first_line[m.end():].strip() or later.strip()):
        return m.group(1).strip(), (first_line[m.end():] + ("\n" + later if later else "")).strip()
    return "", text


def _unsigned(text: str) -> str:
    """The text without a signature at its end: the 发布机关, the date, "(此件公开发布)"."""
    lines = text.split("\n")
    while len(lines) > 1 and (
        _ORGAN.match(lines[-1].replace(" ", "")) or (_date(lines[-1]) is not None and len(lines[-1]) <= 20)
        or re.fullmatch(r"[(（][^()（）]{1,12}[)）]", lines[-1])
    ):
        lines.pop()
    return "\n".join(lines)


def _span_text(body: list[tuple[int, int, str]], start: int, end: int | None) -> str:
    """The body's text from offset `start` to `end` (exclusive), lines joined by newlines, blank lines dropped."""
    parts: list[str] = []
    for offset, _, line in body:
        line_end = offset + len(line)
        if line_end < start or (end is not None and offset >= end):
            continue
        lo = max(start, offset) - offset
        hi = (min(end, line_end) if end is not None else line_end) - offset
        piece = line[lo:hi].strip()
        if piece:
            parts.append(piece)
    return "\n".join(parts)


_SENTENCE_END = re.compile(r"[^。!！?？\n]*(?:[。!！?？]+[”\u2019\"」)）]*|$)")
_EN_SENTENCE = re.compile(r"[^.!?\n]*(?:(?<!\d)[.!?]+(?!\d)|$)")


def split_sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) for each sentence of `text`: split at 。！？ and line ends (also . ! ? in English)."""
    letters = [ch for ch in text if ch.isalpha()]
    english = bool(letters) and sum(1 for ch in letters if ch.isascii()) > 0.8 * len(letters)
    pattern = _EN_SENTENCE if english else _SENTENCE_END
    out = []
    for m in pattern.finditer(text):
        raw = m.group(0)
        stripped = raw.strip()
        if stripped:
            out.append((m.start() + raw.index(stripped), stripped))
    return out


def _sentences(body: list[tuple[int, int, str]], sections: list[Section]) -> list[Sentence]:
    starts = [(s.start, s.id) for s in sections]
    out: list[Sentence] = []
    for offset, _, line in body:
        for at, sentence in split_sentences(line):
            found = quantities(sentence)
            if not found:
                continue
            where = offset + at
            section = None
            for start, sid in starts:
                if start <= where:
                    section = sid
                else:
                    break
            out.append(Sentence(sentence, where, section, tuple(found)))
    return out


# ---------------------------------------------------------------- the header

_DATE = re.compile(r"(\d{4})\s*(?:年|[-./])\s*(\d{1,2})\s*(?:月|[-./])\s*(\d{1,2})\s*日?")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[【(（]\s*(\d{4})\s*[〕\]】)）]\s*(\d+)\s*号")
_TITLE_WORDS = ("意见", "通知", "办法", "方案", "规定", "决定", "细则", "条例", "规划", "Opinions", "Measures")
_ORGAN = re.compile(r"^[\u4e00-\u9fff]{2,30}(?:人民政府(?:办公厅|办公室)?|办公厅|办公室|局|厅|委员会|中心)$")
_STATUS_WORDS = {"有效": "有效", "现行有效": "有效", "失效": "失效", "废止": "失效", "征求意见稿": "征求意见稿"}


def _date(text: str) -> dt.date | None:
    m = _DATE.search(text)
    if m is None:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _labelled(text: str, labels: str) -> str | None:
    """The value after a label (`文号 X`, `【字号】X`, `Published\\nX`), up to the end of its line or field."""
    m = re.search(rf"(?:{labels})\s*(?:[:：】]\s*)?\n?[ \t]*([^\n•【]+)", text)
    return m.group(1).strip() if m else None


def _doc_number(text: str) -> str | None:
    value = _labelled(text, r"文号|字号|发文字号")
    m = _DOC_NUMBER.search(value) if value else None
    if m is None:
        return None
    return _bracketed(m.group(0))


def _bracketed(number: str) -> str:
    """黄政办发[2010]71号 → 黄政办发〔2010〕71号: the year in the brackets a 文号 is printed with."""
    return re.sub(r"[\[【(（]\s*(\d{4})\s*[\]】)）]", r"〔\1〕", number)


def read_header(text: str, tail: str = "") -> Header:
    """The 政策 header fields that the text states: labelled fields and the title in `text` (the
    document's head), the signature and the start date in the head or in `tail` (its last lines)."""
    title = None
    number = None
    stripped = [line.strip() for line in text.split("\n")]
    for index, candidate in enumerate(stripped):
        following = next((t for t in stripped[index + 1:index + 3] if t), "")
        if candidate.startswith("关于") and not any(w in candidate for w in _TITLE_WORDS) and len(following) <= 40:
            candidate += following  # a title broken over two lines
        if 4 <= len(candidate) <= 80 and any(w in candidate for w in _TITLE_WORDS) and not re.search(
            r"[。，,；;:：]", candidate
        ):
            title = candidate.replace("#", "")
            own = _DOC_NUMBER.search(title)
            if own is not None and own.end() == len(title.rstrip(")）")):
                # "…的意见-津政发〔2016〕17号": the number printed with the title.
                number = _bracketed(own.group(0))
                title = title[:own.start()].rstrip("-—－ (（")
            break
    number = number or _doc_number(text)
    if number is None and title is not None:
        # The number printed in parentheses right under or after the title.
        at = text.find(title)
        m = _DOC_NUMBER.search(text, at + len(title), at + len(title) + 40) if at >= 0 else None
        if m is not None and text[m.start() - 1:m.start()] in "(（":
            number = _bracketed(m.group(0))
    issuer = published = None
    filled = [line.strip() for line in (text + "\n" + tail).split("\n") if line.strip()]
    for here, after in itertools.pairwise(filled):
        if _ORGAN.match(here.replace(" ", "")) and _date(after) is not None and len(after) <= 20:
            issuer, published = here.replace(" ", ""), _date(after)
            break
    if issuer is None:
        value = _labelled(text, r"发布机关|制定机关|发布机构|发文机关|Source|Issued by")
        if value and _ORGAN.match(value):
            issuer = value
    labelled_date = _labelled(text, r"发布日期|公布日期|发布时间|成文日期|Published|Date of issue")
    if labelled_date is not None and _date(labelled_date) is not None:
        published = _date(labelled_date)
    effective = None
    value = _labelled(text, r"施行日期|实施日期")
    if value is not None:
        effective = _date(value)
    if effective is None:
        m = re.search(r"(?:自|从)\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*起\s*(?:开始)?\s*(?:施行|实施|执行)",
                      text + "\n" + tail)
        effective = _date(m.group(1)) if m else None
    status = None
    value = _labelled(text, r"时效性|有效性|Law Status")
    if value is not None:
        status = _STATUS_WORDS.get(value.strip())
    if "征求意见稿" in text[:3000]:
        status = "征求意见稿"
    return Header(title, number, issuer, published, effective, status)
