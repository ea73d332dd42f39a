"""`explain --format letter` and `explain --cases FILE --person ID` (docs/letter.md).

Called by `yibaolang explain` (tools/cli.py) when a letter or a person's year
is asked for; returns the exit code.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import attrs
import click

from yibaolang.tools.cli import EXIT_INPUT, EXIT_OK, _compile_or_exit, _echo_problems

DATE_COLUMNS = ("结算日期", "理赔日期", "就诊日期", "出院日期", "日期")


def _write(out_file: str, data: bytes, inputs: list[str]) -> None:
    from yibaolang.files import write_bytes

    write_bytes(out_file, data, inputs)
    click.echo(f"已写入 {out_file}", err=True)


def _letter_problems(exc: Any, program: Any) -> int:
    _echo_problems(exc.diagnostics, program)
    return EXIT_INPUT


def explain_letter(policy: str, case_path: str | None, outputs: tuple[str, ...], date: dt.date | None, fmt: str,
                   out_file: str | None, partial: bool, template: str | None, cases_path: str | None,
                   person: str | None, person_column: str | None, claim_date: str | None,
                   family: str | None = None) -> int:
    from yibaolang.engines.cases import load_case_file, validate
    from yibaolang.engines.evaluate import evaluate
    from yibaolang.files import program_files, refuse_inputs
    from yibaolang.outputs.letter import LetterError, build_letter, print_pdf, read_metadata, render_letter

    if (cases_path is None) != (person is None):
        raise click.UsageError("--cases 与 --person 要一起用：--cases 理赔文件 --person 人员标识")
    if cases_path is not None and case_path is not None:
        raise click.UsageError("--cases 不能与 --case 同时使用")
    if out_file is not None and out_file.lower().endswith(".pdf") and fmt not in ("letter", "html"):
        raise click.UsageError("PDF 只能由 --format letter 或 html 生成")
    program = _compile_or_exit(policy)
    inputs = [*program_files(program), *(p for p in (case_path, cases_path, template) if p)]
    if out_file is not None:
        refuse_inputs(out_file, inputs)
    if cases_path is not None:
        assert person is not None
        return _person_year(program, cases_path, person, person_column, claim_date, outputs, date, fmt, out_file,
                            partial, template, inputs, family)
    if case_path is None:
        raise click.UsageError("需要 --case 案例文件（YAML 或 JSON）")
    raw, problems = load_case_file(case_path)
    if raw is None or problems:
        _echo_problems(problems, program, raw)
        return EXIT_INPUT
    metadata, meta_problems = read_metadata(raw)
    case, problems = validate(program, raw)
    problems = [*meta_problems, *problems]
    if problems:
        _echo_problems(problems, program, raw)
        if any(d.is_error for d in problems):
            return EXIT_INPUT
    outcome = evaluate(program, case, list(outputs) or None, trace=True, date=date)
    try:
        html = render_letter(build_letter(program, outcome, metadata), template)
        if out_file is not None and not outcome.ok and not partial:
            _echo_problems(outcome.diagnostics, program)
            click.echo(f"未写入 {out_file}：计算有错误，有的数额没有算出（加 --partial 仍写出已算出的部分）", err=True)
            return EXIT_INPUT
        if out_file is None:
            click.echo(html, nl=False)
        elif out_file.lower().endswith(".pdf"):
            _write(out_file, print_pdf(html), inputs)
        else:
            _write(out_file, html.encode("utf-8"), inputs)
    except LetterError as exc:
        return _letter_problems(exc, program)
    if outcome.diagnostics:
        _echo_problems(outcome.diagnostics, program)
    return EXIT_OK if outcome.ok else EXIT_INPUT


# ---------------------------------------------------------------- a year of one person's claims


@attrs.define
class Claim:
    number: int  # the claim's row in the file, from 1
    date: dt.date
    fiscal_year: int
    totals_before: dict[str, str]
    totals_after: dict[str, str]
    figures: list[tuple[str, str]]
    met: list[str]  # caps, floors and bands the claim reached, in the trace's words
    problems: list[str]
    # 家庭累计: the family members' earlier claims that fed the family totals (docs/batch.md §2.1).
    fed_by: list[str] = attrs.Factory(list)


def _rows(path: str) -> list[dict[str, Any]]:
    from yibaolang.tools.batch import BatchError, have_batch_dependencies, open_reader

    if not have_batch_dependencies():
        raise click.ClickException("--cases 需要 numpy 与 pyarrow：pip install 'yibaolang[batch]'")
    rows: list[dict[str, Any]] = []
    try:
        for table in open_reader(path, 65_536).chunks():
            rows.extend(table.to_pylist())
    except BatchError as exc:
        raise click.ClickException(str(exc)) from None
    for number, row in enumerate(rows, 1):
        for key, value in row.items():
            if isinstance(value, bytes):  # CSV cells arrive undecoded
                try:
                    row[key] = value.decode("utf-8")
                except UnicodeDecodeError:
                    raise click.ClickException(f"案例文件第 {number} 条理赔的列“{key}”不是 UTF-8 文字") from None
    return rows


def _pick_column(rows: list[dict[str, Any]], given: str | None, what: str, guess: Any) -> str:
    columns = list(rows[0]) if rows else []
    if given is not None:
        if given not in columns:
            raise click.UsageError(f"案例文件中没有列“{given}”（有：{'、'.join(columns)}）")
        return given
    found = guess(columns)
    if found is None:
        raise click.UsageError(f"无法确定{what}，请用 --{'person-column' if what == '人员标识列' else 'claim-date'} 指定")
    return str(found)


def _fiscal_year(day: dt.date, start: tuple[int, int]) -> int:
    return day.year - (1 if (day.month, day.day) < start else 0)


CAP_WORDS = ("限额", "封顶", "最高", "剩余")
THRESHOLD_WORDS = ("起付",)


def _met(node: Any) -> list[str]:
    """The caps, deductibles and bands an output reached: the notes of its tree (封顶/保底 起作用,
    本段计入), a cap it reads directly and equals (取较小 leaves no note), or zero under a 起付 it reads."""
    out: list[str] = []
    for sub in node.walk():
        for note in sub.notes:
            if ("封顶" in note or "保底" in note) and "起作用" in note:
                out.append(f"{sub.name}：{note.split('：', 1)[0]}")
            elif sub.kind == "band" and note.startswith("本段计入"):
                out.append(f"{node.name}：计入{sub.name}")
    capped = any("封顶" in note and "起作用" in note for note in node.notes)
    is_cap = any(w in node.name for w in CAP_WORDS)  # a remaining amount equal to the full cap reached nothing
    for child in node.children if node.value is not None and not capped and not is_cap else ():
        if child.kind not in ("figure", "parameter", "input") or child.value is None or child.type != node.type:
            continue
        if any(w in child.name for w in CAP_WORDS) and child.value == node.value and node.value:
            out.append(f"{node.name}：达到{child.name} {child.display}")
        elif any(w in child.name for w in THRESHOLD_WORDS) and not node.value and child.value:
            out.append(f"{node.name}：未超过{child.name} {child.display}")
    return list(dict.fromkeys(out))


def person_year(program: Any, rows: list[dict[str, Any]], person_col: str, person: str, date_col: str,
                outputs: tuple[str, ...], date: dt.date | None,
                family_col: str | None = None) -> tuple[list[Claim], list[str]]:
    """The person's claims in date order (ties in file order), settled one after another like `run --person`.

    With `family_col`, every claim of the person's family is settled in date order (家庭累计 totals are
    the family's, the others each member's), and each of the person's claims names the members' claims
    that fed its family totals; only the person's own claims are returned.
    """
    from yibaolang.engines.cases import check_value, declared_inputs
    from yibaolang.engines.evaluate import evaluate, evaluator_for
    from yibaolang.engines.outcome import CaseInput
    from yibaolang.semantics.values import Problem, display, parse_date_text
    from yibaolang.tools.batch import accumulators, fiscal_start

    inputs = declared_inputs(program)
    accs = accumulators(program)
    start = fiscal_start(program)
    evaluator = evaluator_for(program, False)
    def who(row: dict[str, Any]) -> str:
        return str(row.get(person_col) or "").strip()

    mine = [(i, r) for i, r in enumerate(rows, 1) if who(r) == person]
    home = next((str(r.get(family_col) or "").strip() for _, r in mine), "") if family_col else ""
    if home and family_col:
        mine = [(i, r) for i, r in enumerate(rows, 1) if str(r.get(family_col) or "").strip() == home]
    dated: list[tuple[dt.date, int, dict[str, Any]]] = []
    skipped: list[str] = []
    for number, row in mine:
        cell = row.get(date_col)
        day = cell if isinstance(cell, dt.date) else parse_date_text(str(cell or ""))
        if day is None:
            skipped.append(f"文件中第 {number} 条理赔：列“{date_col}”不是日期（{cell}），没有计入")
            continue
        dated.append((day, number, row))
    dated.sort(key=lambda item: (item[0], item[1]))
    names = list(outputs) or evaluator.default_outputs()
    wanted = names + [a.figure for a in accs if a.figure not in names]
    totals: dict[tuple[int, str, str], Any] = {}
    fed: dict[tuple[int, str], list[str]] = {}  # (统筹年度, family input) → the claims added so far

    def key(fiscal: int, acc: Any, member: str) -> tuple[int, str, str]:
        return (fiscal, acc.input, "" if acc.family else member)

    def initial(acc: Any) -> Any:
        info = inputs.get(acc.input)
        if info is not None and info.decl.default is not None:
            return evaluator.constant(info.scope, info.decl.default)
        return Decimal(0)

    claims: list[Claim] = []
    for day, number, row in dated:
        fiscal = _fiscal_year(day, start)
        member = who(row)
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, raw in row.items():
            info = inputs.get(name)
            if info is None or raw is None or raw == "" or any(a.input == name for a in accs):
                continue
            value = check_value(program, info, raw)
            if isinstance(value, Problem):
                problems.append(f"输入 {name}：{value.message}")
            else:
                values[name] = value
        before = {}
        fed_by = [f"家庭累计 {acc.input} 已计入：" + "；".join(fed[(fiscal, acc.input)])
                  for acc in accs if acc.family and fed.get((fiscal, acc.input))]
        for acc in accs:
            total = totals.setdefault(key(fiscal, acc, member), initial(acc))
            values[acc.input] = total
            before[acc.input] = display(acc.type, total)
        case = CaseInput(values, date or day, "理赔日期" if date is None else "--date")
        outcome = evaluate(program, case, wanted, trace=True) if not problems else None
        figures: list[tuple[str, str]] = []
        met: list[str] = []
        after = dict(before)
        if outcome is not None:
            problems += [d.message for d in outcome.diagnostics if d.is_error]
            shown = {node.name: node for node in outcome.trace}
            for name in names:
                node = shown.get(name)
                figures.append((name, node.display if node is not None else "未算出"))
                if node is not None:
                    met += _met(node)
            if outcome.ok:
                for acc in accs:
                    added = outcome.value(acc.figure)
                    total = totals[key(fiscal, acc, member)] + added
                    totals[key(fiscal, acc, member)] = total
                    after[acc.input] = display(acc.type, total)
                    if acc.family:
                        fed.setdefault((fiscal, acc.input), []).append(
                            f"{member} {day.isoformat()}（第 {number} 条）{display(acc.type, added)}")
        if problems and accs:
            problems.append("本次理赔有错误，未计入累计")
        if member == person:
            claims.append(Claim(number, day, fiscal, before, after, figures, met, problems, fed_by))
    return claims, skipped


def _year_text(person: str, claims: list[Claim], skipped: list[str], title: str) -> str:
    out = [f"{title}：{person} 的理赔（{len(claims)} 笔，按理赔日期）", ""]
    for claim in claims:
        out.append(f"{claim.date.isoformat()}（{claim.fiscal_year} 统筹年度；文件中第 {claim.number} 条理赔）")
        for name, shown in claim.figures:
            out.append(f"  {name} = {shown}")
        for name, value in claim.totals_before.items():
            out.append(f"  累计 {name}：{value} → {claim.totals_after[name]}")
        for line in claim.fed_by:
            out.append(f"  · {line}")
        for line in claim.met:
            out.append(f"  · {line}")
        for line in claim.problems:
            out.append(f"  错误：{line}")
        out.append("")
    out += [f"提示：{line}" for line in skipped]
    return "\n".join(out).rstrip("\n") + "\n"


def _person_year(program: Any, cases_path: str, person: str, person_column: str | None, claim_date: str | None,
                 outputs: tuple[str, ...], date: dt.date | None, fmt: str, out_file: str | None, partial: bool,
                 template: str | None, inputs: list[str], family: str | None = None) -> int:
    from yibaolang.outputs.letter import LetterError, print_pdf, render_template

    rows = _rows(cases_path)

    def person_guess(columns: list[str]) -> str | None:
        hits = [c for c in columns if any(str(r.get(c) or "").strip() == person for r in rows)]
        return hits[0] if len(hits) == 1 else None

    def date_guess(columns: list[str]) -> str | None:
        return next((c for name in DATE_COLUMNS for c in columns if c == name), None)

    person_col = _pick_column(rows, person_column, "人员标识列", person_guess)
    date_col = _pick_column(rows, claim_date, "理赔日期列", date_guess)
    from yibaolang.tools.batch import accumulators

    pooled = [a.input for a in accumulators(program) if a.family]
    if pooled and family is None:
        click.echo(f"错误：{'、'.join(pooled)} 是 家庭累计 的输入：请用 --family 指定家庭标识列（如 户号）", err=True)
        return EXIT_INPUT
    if family is not None and rows and family not in rows[0]:
        click.echo(f"错误：案例文件中没有列“{family}”（--family）", err=True)
        return EXIT_INPUT
    claims, skipped = person_year(program, rows, person_col, person, date_col, outputs, date, family)
    if not claims:
        click.echo(f"错误：案例文件的列“{person_col}”中没有 {person} 的理赔", err=True)
        return EXIT_INPUT
    header = program.root.module.header
    title = header.name if header is not None else program.root.path
    failed = any(c.problems for c in claims)
    if fmt == "json":
        text = json.dumps({"schema": "yibaolang.person-year/1", "person": person,
                           "claims": [attrs.asdict(c, value_serializer=_json_value) for c in claims],
                           "skipped": skipped}, ensure_ascii=False, indent=2) + "\n"
    elif fmt in ("html", "letter"):
        try:
            text = render_template("year.html.j2", {"title": title, "person": person, "claims": claims,
                                                    "skipped": skipped,
                                                    "doc_number": header.doc_number if header else None},
                                   template)
        except LetterError as exc:
            return _letter_problems(exc, program)
    else:
        text = _year_text(person, claims, skipped, title)
    if out_file is not None and failed and not partial:
        click.echo(f"未写入 {out_file}：有的理赔计算有错误（加 --partial 仍写出）", err=True)
        return EXIT_INPUT
    if out_file is None:
        click.echo(text, nl=False)
    elif out_file.lower().endswith(".pdf"):
        try:
            _write(out_file, print_pdf(text), inputs)
        except LetterError as exc:
            return _letter_problems(exc, program)
    else:
        _write(out_file, text.encode("utf-8"), inputs)
    return EXIT_INPUT if failed else EXIT_OK


def _json_value(instance: Any, field: Any, value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


__all__ = ["Claim", "explain_letter", "person_year"]
