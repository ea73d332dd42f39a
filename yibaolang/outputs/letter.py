"""The decision letter (待遇结算告知书) for the insured person, and a year of one person's claims (docs/letter.md).

The letter is the same evaluated case as `explain`, told to the person it
concerns: the figures first, in a few plain sentences that cite the 文号 and
the clause, then the computation as a table, then the appeal sentence.  The
person, the claim number, the 经办机构 and the date come from the case file's
`元数据` section, never from the policy's inputs.  The page is a Jinja2
template (autoescaped) that a bureau can replace with `--template`.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic, closest, error, warning
from yibaolang.engines.outcome import Outcome
from yibaolang.engines.trace import TraceNode
from yibaolang.ir.types import Type
from yibaolang.semantics.values import display, parse_date_text

META_KEY = "元数据"
# The fields a letter shows, and the other names a case file may use for them.
META_FIELDS: dict[str, tuple[str, ...]] = {
    "参保人": ("姓名",),
    "证件号码": ("身份证号", "身份证号码"),
    "参保号": ("参保人编号", "社会保障号"),
    "结算单号": ("理赔编号", "理赔号", "单号"),
    "经办机构": (),
    "告知日期": ("日期",),
    "联系电话": ("电话",),
}
_ALIASES = {alias: field for field, aliases in META_FIELDS.items() for alias in (field, *aliases)}
TEMPLATES = Path(__file__).resolve().parent / "templates"
PAYMENT_WORDS = ("支付", "报销", "给付", "赔付", "补助", "救助", "划入")
OWN_WORDS = ("个人", "自付", "自负", "缴费", "负担")


class LetterError(Exception):
    """A letter that cannot be produced; carries diagnostics for the user."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics[0].message if diagnostics else "")
        self.diagnostics = diagnostics


# ---------------------------------------------------------------- 元数据


def read_metadata(raw: Any) -> tuple[dict[str, str], list[Diagnostic]]:
    """The `元数据` of a case file (an engines.cases.RawCase): known fields by their letter name."""
    out: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for entry in getattr(raw, "entries", []):
        if entry.name != META_KEY:
            continue
        if not isinstance(entry.value, dict):
            continue  # engines.cases.validate reports it, for every command
        for key, value in entry.value.items():
            field = _ALIASES.get(str(key).strip())
            if field is None:
                guess = closest(str(key), list(_ALIASES))
                problems.append(warning("YB408", entry.key_span, f"元数据中有未知的字段“{key}”，告知书不会显示它",
                                        f"是否想写 {guess}？" if guess else "可用的字段：" + "、".join(META_FIELDS)))
                continue
            text = value.isoformat() if isinstance(value, dt.date) else "" if value is None else str(value)
            if field == "告知日期" and text:
                date = value if isinstance(value, dt.date) else parse_date_text(text)
                if date is None:
                    problems.append(error("YB405", entry.value_span, f"元数据 告知日期：无法读作日期：{text}",
                                          "例如 2025-03-01"))
                    continue
                text = f"{date.year}年{date.month}月{date.day}日"
            out[field] = text
    return out, problems


# ---------------------------------------------------------------- what the letter says


@attrs.frozen
class Figure:
    name: str
    display: str
    role: str  # paid | own | other
    basis: str  # "津政发〔2016〕17号 二、(五)「深入实施大病保险制度」"
    reason: str  # a plain sentence: how the figure came about


@attrs.frozen
class Row:
    item: str
    method: str
    amount: str
    basis: str
    level: int = 0


def _basis(node: TraceNode, doc_number: str | None) -> str:
    """`津政发〔2016〕17号 二、(五)「深入实施大病保险制度」` (the clause alone when `doc_number` is None)."""
    if node.clause is None:
        return doc_number or ""
    head = f"{doc_number} " if doc_number else ""
    title = f"「{node.clause.title}」" if node.clause.title else ""
    return f"{head}{node.clause.id}{title}"


def _cited(node: TraceNode) -> TraceNode:
    """The node whose clause a figure rests on: its own, or, for a figure that only renames another
    (a layer's `基本医保支付 = 基本医保.统筹基金住院支付`), the clause of the figure it renames."""
    here = node
    while here.clause is None:
        figures = [c for c in here.children if c.kind == "figure"]
        if len(figures) != 1 or figures[0].value != here.value:
            return node
        here = figures[0]
    return here


def _source_basis(node: TraceNode, docs: dict[str, str | None]) -> str:
    """The basis of a figure with the 文号 of the policy file its clause is in (imports have their own)."""
    cited = _cited(node)
    doc = docs.get(cited.source.file) if cited.source is not None else None
    return _basis(cited, doc) if cited.clause is not None or doc else ""


def _plain(note: str) -> str:
    """The trace's logic words in everyday ones: `X 不成立（否）` → `X：否`."""
    return note.replace(" 不成立（否）", "：否").replace(" 成立（是）", "：是").replace(" 为 ", "为")


def _role(node: TraceNode) -> str:
    money = node.type is not None and node.type.name == "金额"
    if not money:
        return "other"
    if any(w in node.name for w in OWN_WORDS):
        return "own"
    if any(w in node.name for w in PAYMENT_WORDS):
        return "paid"
    return "other"


def _band_sentence(bands: list[TraceNode]) -> str | None:
    counted = []
    for band in bands:
        note = next((n for n in band.notes if n.startswith("本段计入")), None)
        if note is None:
            continue
        span = band.name.split(" ", 1)[1] if " " in band.name else band.name
        counted.append(f"{span}的部分{note.removeprefix('本段')}，得 {band.display}")
    return "按分段计算：" + "；".join(counted) if counted else None


def reason(node: TraceNode) -> str:
    """How a figure came about, in a sentence a person can read (from the trace's own notes)."""
    parts: list[str] = []
    bands = [c for c in node.children if c.kind == "band"]
    band = _band_sentence(bands)
    if band:
        parts.append(band)
    for note in node.notes:
        if note.startswith("封顶 ") and "起作用" in note:
            limit = note.split(" ", 2)[1]
            before = note.split("：", 1)[1].removesuffix("，超过上限") if "：" in note else ""
            # "按比例支付额 为 1,300.00元" is a formula only the drafter reads when it is an expression
            if before and " 为 " in before and len(before.split(" 为 ")[0].split()) == 1:
                parts.append(f"{before.replace(' 为 ', '为')}，超过上限 {limit}，按上限支付")
            else:
                parts.append(f"已达到上限 {limit}，按上限支付")
        elif note.startswith("保底 ") and "起作用" in note:
            parts.append(f"不低于 {note.split(' ', 2)[1]}")
        elif note.startswith("适用例外"):
            cond = note.split("：", 1)[1].split("，", 1)[0] if "：" in note else ""
            parts.append(f"因{cond.replace(' = ', '为')}，适用{note[4:].split('）')[0].lstrip('（')}的特别规定"
                         if cond else "适用特别规定")
        elif note.startswith("不适用：") and not bands:
            parts.append("本项不适用（" + _plain(note.removeprefix("不适用：")) + "）")
        elif note.startswith("四舍五入"):
            parts.append("金额四舍五入到分")
    cells = [c for c in node.children if c.kind == "cell"]
    if cells and cells[0].notes:
        parts.append(f"按{_plain(cells[0].notes[0].split('：', 1)[0])}确定")
    figures = [c for c in node.children if c.kind == "figure"]
    if not parts and len(figures) == 1 and figures[0].value == node.value:
        return reason(figures[0])  # the figure is another one under a new name (a layer's result)
    if not parts and node.formula and node.formula != node.display:
        parts.append(f"计算为 {node.formula}")
    return "；".join(parts)


def _method(node: TraceNode) -> str:
    if any(c.kind == "band" for c in node.children):
        return "分段计算，各段见下"
    cells = [c for c in node.children if c.kind == "cell"]
    if cells and cells[0].notes:
        return f"按{_plain(cells[0].notes[0].split('：', 1)[0])}查得"
    return node.formula or ""


def _rows(node: TraceNode, level: int = 0, seen: set[int] | None = None) -> list[Row]:
    """The figure and, indented, what it is computed from: bands, figures (two levels), inputs, parameters."""
    seen = set() if seen is None else seen
    seen.add(id(node))
    rows = [Row(node.name, _method(node), node.display, _basis(node, None), level)]
    for child in node.children:
        if id(child) in seen:
            continue
        if child.kind == "band":
            rows.append(Row(child.name, child.formula or "", child.display, "", level + 1))
        elif child.kind == "figure" and level < 1:
            rows.extend(_rows(child, level + 1, seen))
        elif child.kind in ("input", "parameter") and child.display:
            seen.add(id(child))
            what = "您的费用或情况" if child.kind == "input" else "政策规定"
            rows.append(Row(child.name, what, child.display, _basis(child, None) if child.clause else "", level + 1))
    return rows


@attrs.define
class Letter:
    """Everything a template may show (docs/letter.md lists the fields)."""

    title: str
    policy_title: str
    doc_number: str
    issuer: str
    meta: dict[str, str]
    calc_date: str
    paid: list[Figure]
    own: list[Figure]
    other: list[Figure]
    rows: list[Row]
    inputs: list[tuple[str, str]]
    failed: list[str]  # figures that could not be computed
    problems: list[str]  # why, in the words of the diagnostics (no file paths)
    appeal: str

    @property
    def complete(self) -> bool:
        return not self.failed and not self.problems

    def context(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=True) | {"complete": self.complete}


def _problem_text(d: Diagnostic) -> str:
    return d.message + (f"（{d.hint}）" if d.hint else "")


def build_letter(program: Any, outcome: Outcome, metadata: dict[str, str]) -> Letter:
    header: ir.Header | None = program.root.module.header
    doc_number = header.doc_number if header is not None and header.doc_number else ""
    figures: dict[str, list[Figure]] = {"paid": [], "own": [], "other": []}
    rows: list[Row] = []
    docs = {scope.path: (scope.module.header.doc_number if scope.module.header is not None else None)
            for scope in program.modules.values()}
    for node in outcome.trace:
        role = _role(node)
        figures[role].append(Figure(node.name, node.display, role, _source_basis(node, docs), reason(node)))
        rows.extend(_rows(node))
    traced = {node.name for node in outcome.trace}
    failed = [out.name for out in outcome.outputs if not out.ok and out.name not in traced]
    problems = [_problem_text(d) for d in outcome.diagnostics if d.is_error]
    agency = metadata.get("经办机构") or "经办机构"
    return Letter(
        title="待遇结算告知书",
        policy_title=header.name if header is not None else "",
        doc_number=doc_number,
        issuer=header.issuer or "" if header is not None else "",
        meta=metadata,
        calc_date=(f"{outcome.date.year}年{outcome.date.month}月{outcome.date.day}日" if outcome.date else ""),
        paid=figures["paid"],
        own=figures["own"],
        other=figures["other"],
        rows=rows,
        inputs=[(name, _shown(t, v)) for name, (t, v) in outcome.inputs.items()],
        failed=failed,
        problems=problems,
        appeal=(f"如对本告知书所列结算结果有异议，可向{agency}申请复核；"
                "对复核结果不服的，可以依法申请行政复议或者提起行政诉讼。"),
    )


def _shown(type_: Type, value: Any) -> str:
    return display(type_, value) if value is not None else "未提供"


# ---------------------------------------------------------------- the page


def environment(folder: Path) -> Any:
    """A sandboxed Jinja2 environment with autoescape on (a bureau's template is data, not code)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_template(name: str, context: dict[str, Any], template: str | None = None) -> str:
    """Render the shipped template `name`, or the bureau's `template` file instead."""
    import jinja2

    path = Path(template) if template is not None else TEMPLATES / name
    span = ir.Span(str(path), 1, 1, 1, 1)
    try:
        page = environment(path.parent).get_template(path.name)
        return str(page.render(**context))
    except jinja2.TemplateSyntaxError as exc:
        line = exc.lineno or 1
        raise LetterError([error("YB440", ir.Span(str(path), line, 1, line, 2), f"告知书模板有语法错误：{exc.message}",
                                 "模板是 Jinja2 语法：{{ 字段 }}、{% if … %}…{% endif %}")]) from None
    except jinja2.TemplateNotFound:
        raise LetterError([error("YB440", span, f"找不到告知书模板：{path}", "--template 给出一个 .html 模板文件")]) from None
    except jinja2.UndefinedError as exc:
        raise LetterError([error("YB441", span, f"告知书模板使用了没有的字段：{exc.message}",
                                 "可用的字段见 docs/letter.md")]) from None
    except jinja2.TemplateError as exc:
        raise LetterError([error("YB441", span, f"告知书模板无法生成页面：{exc.message}",
                                 "可用的字段见 docs/letter.md")]) from None


def render_letter(letter: Letter, template: str | None = None) -> str:
    return render_template("letter.html.j2", letter.context(), template)


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser(args: list[str], html: str, produce: Callable[[Path], list[str]], suffix: str, timeout: int = 90) -> bytes:
    binary = chromium()
    if binary is None:
        raise LetterError([error("YB442", ir.NO_SPAN, "生成 PDF 需要 Chromium，但没有找到",
                                 "Debian/Ubuntu：apt-get install chromium fonts-noto-cjk；或改用 .html")])
    with tempfile.TemporaryDirectory(prefix="yibaolang-letter-") as folder:
        page = Path(folder) / "letter.html"
        page.write_text(html, encoding="utf-8")
        out = Path(folder) / f"out{suffix}"
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   f"--user-data-dir={folder}/profile", *args, *produce(out), page.as_uri()]
        try:
            subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LetterError([error("YB442", ir.NO_SPAN, f"Chromium 没能生成文件（{type(exc).__name__}）",
                                     "请确认 chromium 可以运行；或改用 .html")]) from None
        if not out.is_file() or out.stat().st_size == 0:
            raise LetterError([error("YB442", ir.NO_SPAN, "Chromium 没能生成文件", "请确认 chromium 可以运行；或改用 .html")])
        return out.read_bytes()


def print_pdf(html: str) -> bytes:
    """The page printed to PDF by headless Chromium (A4, the page's own @page margins, no browser header)."""
    return _browser(["--no-pdf-header-footer"], html, lambda out: [f"--print-to-pdf={out}"], ".pdf")


def screenshot(html: str, width: int = 900, height: int = 1400) -> bytes:
    """A PNG of the page as a browser shows it (for looking at the page, and for tests)."""
    return _browser([f"--window-size={width},{height}", "--hide-scrollbars"], html,
                    lambda out: [f"--screenshot={out}"], ".png")
