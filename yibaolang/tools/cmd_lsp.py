"""`yibaolang lsp`: the language server over stdio, for editors.

Only click is imported here; the server (`yibaolang.tools.lsp`) and pygls load when
the command runs.  pygls is the optional extra `lsp`: without it the command
says how to install it and exits 2.
"""

from __future__ import annotations

import sys

import click

INSTALL_HINT = (
    "yibaolang lsp 需要 pygls（可选依赖 lsp）。请安装：\n"
    "    pip install 'yibaolang[lsp]'\n"
    "（在源码目录中：pip install -e '.[lsp]'）"
)


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="经标准输入输出通信（默认，也是唯一的方式；编辑器客户端会加上这个选项）")
def lsp(stdio: bool) -> None:
    """启动语言服务器（LSP），供 VS Code 等编辑器使用：诊断、悬停、跳转、补全、大纲、快速修复。"""
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError:
        click.echo(INSTALL_HINT, err=True)
        sys.exit(2)
    from yibaolang.tools.lsp import serve

    serve()
