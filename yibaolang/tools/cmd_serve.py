"""`yibaolang serve` and `yibaolang replay` (docs/serve.md)."""

from __future__ import annotations

import sys
from typing import Any

import click

from yibaolang.tools.cli import EXIT_INPUT, guarded
from yibaolang.tools.tables import table_option

INSTALL_HINT = "yibaolang serve 需要 Starlette 与 uvicorn：请运行 pip install 'yibaolang[serve]'"


def _have_serve() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("starlette", "uvicorn", "jinja2"))


def _size(ctx: Any, param: Any, value: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    text = value.strip().lower().removesuffix("b")
    factor = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    if not number.isdigit() or int(number) * factor <= 0:
        raise click.BadParameter(f"不是有效的大小：{value}（例如 100M、512K）", ctx, param)
    return int(number) * factor


@click.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--host", default="127.0.0.1", show_default=True, help="监听的地址")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="监听的端口")
@click.option("--decision-log", "decision_log", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="决定日志（JSON Lines，每个决定一行，写后立即刷新）")
@click.option("--log-max-size", "log_max", default="100M", show_default=True, callback=_size,
              help="决定日志超过这个大小就轮换为 PATH.1、PATH.2……")
@click.option("--log-backups", type=click.IntRange(0, 1000), default=5, show_default=True, help="保留的旧日志个数")
@click.option("--shadow", "shadow", multiple=True, type=click.Path(exists=True, file_okay=False), metavar="DIR",
              help="候选政策的文件夹：每个请求也按同一标识的候选政策计算，结果不同时记入决定日志")
@click.option("--max-body", default="1M", show_default=True, callback=_size, help="请求体的大小上限")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="每个请求的计算时间上限（秒）")
@click.option("--reload-interval", type=click.FloatRange(0, 3600), default=1.0, show_default=True,
              help="多少秒检查一次政策文件的改动（0：不热加载）")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="工作进程数（每个进程各自加载政策；多核机器上可提高吞吐）")
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="逐个请求打印访问日志")
@table_option
@guarded
def serve(folders: tuple[str, ...], host: str, port: int, decision_log: str | None, log_max: int, log_backups: int,
          shadow: tuple[str, ...], max_body: int, timeout: float, reload_interval: float, workers: int,
          access_log: bool, tables: dict[str, str]) -> None:
    """启动结算与解释服务，以及经办工作台（浏览器打开 http://HOST:PORT/）。

    \b
    示例：
      yibaolang serve policies/
      yibaolang serve policies/ --port 8080 --decision-log 决定.jsonl
      yibaolang serve policies/ --shadow 修订稿/ --decision-log 决定.jsonl
    """
    if not _have_serve():
        click.echo(INSTALL_HINT, err=True)
        sys.exit(2)
    import uvicorn

    from yibaolang.tools.serve.app import SETTINGS_VARIABLE, Settings, create_app

    settings = Settings(list(folders), list(shadow), decision_log, log_max, log_backups, max_body, timeout,
                        reload_interval, tables)
    try:
        app = create_app(settings)
    except OSError as exc:  # the decision log cannot be opened: said before anything is served
        from yibaolang.files import os_reason

        click.echo(f"错误：无法打开决定日志 {decision_log}：{os_reason(exc)}", err=True)
        sys.exit(EXIT_INPUT)
    service = app.state.service
    entries = list(service.registry)
    unknown = _unknown_tables(tables, entries)
    if unknown:
        service.stop()
        for d in unknown:
            click.echo(f"{d.location}: 错误[{d.code}]: {d.message}\n  提示：{d.hint}", err=True)
        sys.exit(EXIT_INPUT)
    for skipped in service.registry.skipped:
        click.echo(f"已跳过：{skipped}", err=True)
    broken = [e for e in entries if e.policy is None]
    for entry in broken:
        click.echo(f"政策 {entry.id} 有错误，暂不提供（改好后自动加载）：", err=True)
        for d in entry.diagnostics:
            if d.is_error:
                click.echo(f"  {d.location}: [{d.code}] {d.message}", err=True)
    sock = _listen(host, port)
    shown = sock.getsockname()
    click.echo(f"已加载 {len(entries) - len(broken)} 个政策；服务地址 http://{_url_host(host)}:{shown[1]}/", err=True)
    if workers == 1:
        config = uvicorn.Config(app, log_level="warning", access_log=access_log, lifespan="on", server_header=False)
        uvicorn.Server(config).run(sockets=[sock])
        return
    # Each worker process builds its own application from the same settings (and its own policy table).
    import json
    import os

    import attrs
    from uvicorn.supervisors import Multiprocess

    app.state.service.stop()
    os.environ[SETTINGS_VARIABLE] = json.dumps(attrs.asdict(settings), ensure_ascii=False)
    config = uvicorn.Config("yibaolang.tools.serve.app:app_from_environment", factory=True, workers=workers,
                            log_level="warning", access_log=access_log, lifespan="on", server_header=False)
    Multiprocess(config, sockets=[sock]).run()


def _unknown_tables(tables: dict[str, str], entries: list[Any]) -> list[Any]:
    """YB469 for each `--table` name no served policy declares (a typo would silently serve the default data)."""
    from yibaolang.tools.tables import unknown_tables

    known = list(dict.fromkeys(name for entry in entries for name in entry.catalogs))
    return unknown_tables(tables, known)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _listen(host: str, port: int) -> Any:
    """The listening socket, opened here so that a busy port or a bad address is said in Chinese."""
    import socket

    from yibaolang.files import os_reason

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        click.echo(f"错误：无法解析监听地址 {host}", err=True)
        sys.exit(EXIT_INPUT)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        import errno

        reason = "端口已被占用" if exc.errno == errno.EADDRINUSE else os_reason(exc)
        click.echo(f"错误：无法在 {host}:{port} 上监听：{reason}", err=True)
        sys.exit(EXIT_INPUT)
    sock.set_inheritable(True)
    return sock


@click.command()
@click.argument("log", type=click.Path(exists=True, dir_okay=False))
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="输出格式")
@guarded
def replay(log: str, folders: tuple[str, ...], fmt: str) -> None:
    """按 FOLDERS 中现在的政策重算决定日志中的每个决定，列出结果不同的决定（有则退出码 1）。

    \b
    示例：
      yibaolang replay 决定.jsonl policies/
    """
    import json

    from yibaolang.tools.serve.decisions import replay as replay_log
    from yibaolang.tools.serve.registry import Registry

    registry = Registry(list(folders))
    registry.refresh()
    count, differences, problems = replay_log([log], registry)
    if fmt == "json":
        click.echo(json.dumps({
            "schema": "yibaolang.replay/1", "decisions": count,
            "differences": [{"decision_id": d.decision_id, "policy": d.policy, "logged_version": d.logged_version,
                             "version": d.version, "output": d.output, "logged": d.logged, "now": d.now}
                            for d in differences],
            "problems": [{"where": p.where, "message": p.message} for p in problems]}, ensure_ascii=False, indent=2))
    else:
        for d in differences:
            click.echo(f"不同  决定 {d.decision_id}（政策 {d.policy}，版本 {d.logged_version} → {d.version}）："
                       f"{d.output} 记录为 {_shown(d.logged)}，现在为 {_shown(d.now)}")
        for p in problems:
            click.echo(f"{p.where}: {p.message}", err=True)
        changed = len({d.decision_id for d in differences})
        click.echo(f"重算 {count} 个决定：{changed} 个结果不同，{len(problems)} 个无法重算")
    if differences or problems:
        sys.exit(EXIT_INPUT)


def _shown(value: Any) -> str:
    return "（未算出）" if value is None else str(value)
