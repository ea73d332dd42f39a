"""`yibaolang coverage`: which computable sentences of the policy document a policy file encodes (docs/init.md).

A sentence of the document "carries a quantity" when it states an amount, a
ratio, a duration or a multiple (analysis/document.py).  For each such
sentence: which 条款 quote it in their 原文, whether a 条款 has the id of the
item it stands in, and which of its quantities appear as literals in the code
(outside strings and comments).  A sentence is 已编码 when a 条款 quotes it and
every quantity of it appears in the code.
"""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal
from html import escape

import attrs

from yibaolang import ir
from yibaolang.analysis.document import Document, Quantity, Sentence, canonical_id, quantities
from yibaolang.checks.resolve import Program

COVERED, PARTIAL, UNCITED = "已编码", "部分编码", "未引用"


@attrs.frozen
class Item:
    sentence: Sentence
    line: int
    quoted_by: tuple[str, ...]  # ids of the 条款 whose 原文 quotes the sentence
    id_cited: bool  # a 条款 has the id of the item the sentence stands in
    found: tuple[Quantity, ...]
    missing: tuple[Quantity, ...]

    @property
    def status(self) -> str:
        if not self.quoted_by:
            return UNCITED
        return PARTIAL if self.missing else COVERED


@attrs.frozen
class Coverage:
    policy: str
    source: str
    items: tuple[Item, ...]

    @property
    def covered(self) -> int:
        return sum(1 for i in self.items if i.status == COVERED)

    @property
    def cited(self) -> int:
        return sum(1 for i in self.items if i.status != UNCITED)

    @property
    def ratio(self) -> Decimal:
        """The coverage figure: the share of quantity sentences fully encoded (1 when there are none)."""
        return Decimal(self.covered) / Decimal(len(self.items)) if self.items else Decimal(1)

    def percent(self) -> str:
        return f"{(self.ratio * 100).quantize(Decimal('0.1'))}%"


def _plain(text: str) -> str:
    """Text for matching 原文 against the document: NFKC (full-width → ASCII), no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def _quotes(source_text: str, sentence: str, numbers: tuple[Quantity, ...] = ()) -> bool:
    """Whether a 原文 quotes the sentence: a sentence of the 原文 contains it, or a fragment of the
    原文 (between … elisions and sentence ends, 12 characters or more) is part of it, and the 原文
    has all of the sentence's numbers (two sentences that differ only in their amounts do not quote
    each other)."""
    plain_source = _plain(source_text)
    if any(_plain(q.text) not in plain_source for q in numbers):
        return False
    s = _plain(sentence)
    for piece in plain_source.replace("...", "…").split("…"):
        for fragment in re.findall(r"[^。!?]+[。!?]*", piece):
            if s in fragment or (len(fragment) >= min(12, len(s)) and fragment in s):
                return True
    return False


def code_quantities(program: Program) -> list[Quantity]:
    """The quantities written as literals in the policy's own code (not in its strings or comments)."""
    from yibaolang.frontend import syntax

    kinds = {"MONEY", "PERCENT", "POINTS", "TIMES", "DURATION"}
    found: list[Quantity] = []
    try:
        tokens = list(syntax.parser().lex(program.root.source.text))
    except Exception:  # a policy that does not lex has no literals to offer (check reports it)
        return found
    for token in tokens:
        if token.type in kinds:
            found.extend(quantities(str(token)))
    return found


def _key(q: Quantity) -> tuple[str, Decimal]:
    value = q.value
    if q.kind == "期限" and q.unit == "年":
        value, unit = value * 12, "个月"
    else:
        unit = q.unit if q.kind == "期限" else ""
    return (f"{q.kind}{unit}", value.normalize())


def clause_ids(module: ir.Module) -> list[tuple[str, str]]:
    """(id, 原文) of every 条款 of a module."""
    return [(c.id, c.text or "") for c in module.clauses]


def measure(program: Program, document: Document, lines: tuple[int, int] | None = None) -> Coverage:
    """Coverage of the document's quantity sentences (only those on `lines`, first to last, when given)."""
    clauses = clause_ids(program.root.module)
    ids = {canonical_id(cid) for cid, _ in clauses}
    in_code = {_key(q) for q in code_quantities(program)}
    items = []
    for sentence in document.sentences:
        quoted = tuple(cid for cid, text in clauses if text and _quotes(text, sentence.text, sentence.quantities))
        found = tuple(q for q in sentence.quantities if _key(q) in in_code)
        missing = tuple(q for q in sentence.quantities if _key(q) not in in_code)
        line = document.text.count("\n", 0, sentence.start) + 1
        if lines is not None and not lines[0] <= line <= lines[1]:
            continue
        cited = sentence.section is not None and canonical_id(sentence.section) in ids
        items.append(Item(sentence, line, quoted, cited, found, missing))
    return Coverage(program.root.path, document.path, tuple(items))


# ---------------------------------------------------------------- rendering


def _excerpt(text: str, limit: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[:limit] + "…"


def _texts(found: tuple[Quantity, ...]) -> str:
    return "、".join(dict.fromkeys(q.text for q in found))


def summary(cov: Coverage) -> str:
    counts = {COVERED: 0, PARTIAL: 0, UNCITED: 0}
    for item in cov.items:
        counts[item.status] += 1
    return (f"覆盖率 {cov.percent()}：含数值的句子 {len(cov.items)} 句，已编码 {counts[COVERED]} 句，"
            f"部分编码 {counts[PARTIAL]} 句，未引用 {counts[UNCITED]} 句")


def render_text(cov: Coverage) -> str:
    out = [summary(cov)]
    open_items = [i for i in cov.items if i.status != COVERED]
    if open_items:
        out.append("")
        out.append("未覆盖的句子：")
    for item in open_items:
        where = f"第{item.line}行" + (f" {item.sentence.section}" if item.sentence.section else "")
        if item.status == PARTIAL:
            why = f"条款 {'、'.join(item.quoted_by)} 引用了原文，代码中没有 " + _texts(item.missing)
        elif item.id_cited:
            why = f"有条款 {item.sentence.section}，但它的原文没有引用这句"
        else:
            why = "没有条款引用"
        out.append(f"  {where}：{why}")
        out.append(f"    “{_excerpt(item.sentence.text)}”")
    return "\n".join(out) + "\n"


def _quantity_json(q: Quantity) -> dict[str, str]:
    return {"kind": q.kind, "text": q.text}


def render_json(cov: Coverage) -> str:
    doc = {
        "schema": "yibaolang.coverage/1",
        "policy": cov.policy,
        "source": cov.source,
        "sentences": len(cov.items),
        "covered": cov.covered,
        "cited": cov.cited,
        "coverage": str(cov.ratio.quantize(Decimal("0.0001"))),
        "items": [
            {
                "line": item.line,
                "section": item.sentence.section,
                "text": item.sentence.text,
                "status": item.status,
                "quoted_by": list(item.quoted_by),
                "id_cited": item.id_cited,
                "found": [_quantity_json(q) for q in item.found],
                "missing": [_quantity_json(q) for q in item.missing],
            }
            for item in cov.items
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


_CSS = """
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", SimSun, serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1.5rem; line-height: 1.8; color: #111; }
h1 { font-size: 1.3rem; }
h2 { font-size: 1.1rem; border-bottom: 1px solid #bbb; }
.summary { border: 1px solid #999; padding: .5rem .8rem; background: #f6f6f6; }
.legend span { margin-right: 1.2rem; }
.doc { white-space: pre-wrap; }
mark { padding: 0 .1rem; border-radius: 2px; }
mark.covered { background: #d8f0d8; }
mark.partial { background: #fff0b3; }
mark.uncited { background: #f8d0d0; }
"""
_CLASS = {COVERED: "covered", PARTIAL: "partial", UNCITED: "uncited"}


def _title(item: Item) -> str:
    if item.status == COVERED:
        return f"已编码：条款 {'、'.join(item.quoted_by)}"
    if item.status == PARTIAL:
        return f"部分编码：条款 {'、'.join(item.quoted_by)}；代码中没有 " + _texts(item.missing)
    return "未引用：没有条款的原文引用这句"


def render_html(cov: Coverage, document: Document) -> str:
    """The document with each quantity sentence marked by its status; every piece of text escaped."""
    parts: list[str] = []
    listed: list[str] = []  # the sentences still to encode, linked to their place in the text
    at = 0
    for number, item in enumerate(sorted(cov.items, key=lambda i: i.sentence.start), 1):
        s = item.sentence
        if s.start < at:
            continue
        parts.append(escape(document.text[at:s.start]))
        parts.append(f'<mark id="s{number}" class="{_CLASS[item.status]}" title="{escape(_title(item))}">'
                     f"{escape(s.text)}</mark>")
        if item.status != COVERED:
            listed.append(f'<li><a href="#s{number}">第{item.line}行</a> {escape(_title(item))}：'
                          f"“{escape(_excerpt(s.text, 40))}”</li>")
        at = s.end
    parts.append(escape(document.text[at:]))
    todo = f'<h2>未覆盖的句子</h2>\n<ul class="todo">{"".join(listed)}</ul>\n' if listed else ""
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>原文覆盖：{escape(cov.policy)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>原文覆盖</h1>\n<p class=\"summary\">{escape(summary(cov))}</p>\n"
        '<p class="legend"><span><mark class="covered">已编码</mark></span>'
        '<span><mark class="partial">部分编码（代码中缺少某些数值）</mark></span>'
        '<span><mark class="uncited">未引用</mark></span></p>\n'
        f'{todo}<h2>原文</h2>\n<div class="doc">{"".join(parts)}</div>\n</body>\n</html>\n'
    )
