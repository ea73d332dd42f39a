"""`yibaolang init` and `yibaolang coverage` (docs/init.md): from the policy document to a policy file and back."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from yibaolang.tools.cli import EXIT_INPUT, guarded


def _document_or_exit(path: str) -> object:
    from yibaolang.analysis.document import DocumentError, parse_document, read_document

    try:
        text = read_document(path)
    except DocumentError as exc:
        from yibaolang import ir
        from yibaolang.diagnostics import error, render_text

        click.echo(render_text(error(exc.code, ir.Span(path, 1, 1, 1, 1), exc.message, exc.hint), None), err=True)
        sys.exit(EXIT_INPUT)
    return parse_document(text, path)


@click.command("init")
@click.argument("document", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="写入这个 .ybl 文件（默认打印到标准输出）")
@click.option("--force", is_flag=True, help="覆盖已有的文件")
@guarded
def init(document: str, out_file: str | None, force: bool) -> None:
    """从政策原文（.txt 或 .docx）生成政策文件的骨架。

    按原文自己的编号（一、 (一) 1. (1) 第X条 …）划分条款，逐字抄录原文，
    填写原文载明的头部字段，并为每个含有金额、比例、期限或分段的句子写一条 TODO。

    \b
    示例：
      yibaolang init 天津医保意见.docx -o tianjin.ybl
      yibaolang check tianjin.ybl
    """
    from yibaolang.analysis.document import Document
    from yibaolang.tools.init import skeleton

    parsed = _document_or_exit(document)
    assert isinstance(parsed, Document)
    text = skeleton(parsed, Path(document).name)
    if out_file is None:
        click.echo(text, nl=False)
        return
    target = Path(out_file)
    if target.exists() and not force:
        click.echo(f"错误：{out_file} 已存在（加 --force 覆盖）", err=True)
        sys.exit(EXIT_INPUT)
    from yibaolang.files import write_text

    write_text(target, text, [document])  # yibaolang.files: atomic, never over the document itself
    todo = sum(1 for line in text.splitlines() if line.lstrip().startswith("# TODO"))
    click.echo(f"已写入 {out_file}：{len(parsed.sections)} 个条款，{todo} 处 TODO", err=True)


def _line_range(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    first, _, last = value.partition("-")
    if not (first.isdigit() and last.isdigit() and 0 < int(first) <= int(last)):
        raise click.BadParameter(f"应写作 A-B（如 465-758），而不是 {value}", ctx, param)
    return int(first), int(last)


@click.command("coverage")
@click.argument("policy", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", "source", type=click.Path(exists=True, dir_okay=False), required=True,
              help="政策原文（.txt 或 .docx）")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True,
              help="输出格式（html：原文全文，已编码的句子标绿）")
@click.option("--lines", "line_range", metavar="A-B", default=None, callback=_line_range,
              help="只看原文的第 A 至 B 行（一个文本里收了几份文件时）")
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="写入文件而不是标准输出")
@guarded
def coverage(policy: str, source: str, fmt: str, line_range: tuple[int, int] | None, out_file: str | None) -> None:
    """原文中每个含有数值的句子是否已编码：有没有条款引用它、它的数值是否出现在代码里。

    \b
    示例：
      yibaolang coverage policies/tianjin_2016.ybl --source 天津医保意见.txt
      yibaolang coverage tianjin.ybl --source 天津医保意见.docx --format html -o 覆盖.html
    """
    from yibaolang.analysis import coverage as cov
    from yibaolang.analysis.document import Document
    from yibaolang.tools.cli import _compile_or_exit

    program = _compile_or_exit(policy)
    document = _document_or_exit(source)
    assert isinstance(document, Document)
    result = cov.measure(program, document, line_range)
    if fmt == "json":
        text = cov.render_json(result)
    elif fmt == "html":
        text = cov.render_html(result, document)
    else:
        text = cov.render_text(result)
    if out_file is None:
        click.echo(text, nl=False)
    else:
        from yibaolang.files import program_files, write_text

        write_text(out_file, text, [*program_files(program), source])
        click.echo(f"已写入 {out_file}：{cov.summary(result)}", err=True)
