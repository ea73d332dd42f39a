"""`yibaolang init`: a policy file's skeleton from the policy document (docs/init.md).

Every numbered item becomes a 条款 with the document's own id and its
verbatim text as 原文; the 政策 header takes what the text states; each
sentence with an amount, a ratio, a duration or a band gets a TODO comment
listing them.  Nothing is computed: the drafter writes the 参数 and 定义.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from yibaolang.analysis.document import Document, Quantity, Section, Sentence, bands


def quote(text: str) -> str:
    """`text` as a yibaolang string literal, verbatim: "…", “…” or \"\"\"…\"\"\" whichever can hold it.

    >>> quote('分别报销50%')
    '"分别报销50%"'
    >>> quote('写明"含"字')
    '“写明"含"字”'
    """
    if "\n" not in text and '"' not in text:
        return f'"{text}"'
    if "\n" not in text and "”" not in text:
        return f"“{text}”"
    return '"""' + text.replace('"""', '"\u200b""') + '"""'


def _date(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _title(text: str) -> str:
    # A title runs to the end of its line and a # would start a comment.
    return " ".join(text.replace("#", "").split())


def describe(quantities: tuple[Quantity, ...], sentence: str) -> str:
    """`金额 2 万元、10 万元；比例 50%；分段 2 万元至10 万元` for a TODO comment."""
    kinds: dict[str, list[str]] = {}
    for q in quantities:
        texts = kinds.setdefault(q.kind, [])
        if q.text not in texts:
            texts.append(q.text)
    found = bands(sentence)
    if found:
        kinds["分段"] = found
    return "；".join(f"{kind} {'、'.join(texts)}" for kind, texts in kinds.items())


def _excerpt(text: str, limit: int = 40) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[:limit] + "…"


def _todo(sentence: Sentence) -> str:
    return f"# TODO {describe(sentence.quantities, sentence.text)}：“{_excerpt(sentence.text)}”"


def skeleton(document: Document, source_name: str) -> str:
    """The text of the skeleton policy file."""
    h = document.header
    out = [
        f"# 由 yibaolang init 从 {source_name} 生成的骨架：条款号与原文取自原文件，头部只写原文载明的字段。",
        "# 每个 TODO 标出一句含有金额、比例、期限或分段的原文：把它写成 参数 与 定义，再删去 TODO。",
        "",
        f"政策 {_title(h.title or Path(source_name).stem)}",
    ]
    if h.doc_number:
        out.append(f"    文号 {quote(h.doc_number)}")
    if h.issuer:
        out.append(f"    发布机关 {quote(h.issuer)}")
    if h.published:
        out.append(f"    发布 {_date(h.published)}")
    if h.effective:
        out.append(f"    施行 {_date(h.effective)}")
    if h.status:
        out.append(f"    状态 {h.status}")
    by_section: dict[str | None, list[Sentence]] = {}
    for sentence in document.sentences:
        by_section.setdefault(sentence.section, []).append(sentence)
    loose = by_section.get(None, [])
    if loose:
        out += ["", "# 编号条目之前的句子（前言、落款）中的数值："]
        out += [_todo(s) for s in loose]
    for section in document.sections:
        out += ["", *_clause(section, by_section.get(section.id, []))]
    if not document.sections:
        out += ["", "# 原文件没有可识别的编号（一、 (一) 1. (1) 第X条）：条款需要手工划分。"]
    return "\n".join(out) + "\n"


def _clause(section: Section, sentences: list[Sentence]) -> list[str]:
    head = f"条款 {quote(section.id)}"
    if section.heading:
        head += f" {_title(section.heading)}"
    if "#" in section.id:
        head += "  # 原文件中这个编号出现了不止一次（另一份文件或附件）"
    lines = [head, f"    原文 {quote(section.body or section.heading or section.marker)}"]
    lines += [f"    {_todo(s)}" for s in sentences]
    return lines
