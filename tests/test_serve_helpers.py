"""A real `yibaolang serve` on a loopback port, in a subprocess, for the end-to-end tests (docs/serve.md)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tianjin_daibing.ybl"
EXAMPLE_CASE = ROOT / "examples" / "tianjin_daibing.case.yaml"
CASE = {"计算日期": "2017-03-01", "大病个人负担": "15万元", "政策范围内费用": "20万元", "缴纳大额医疗救助费": False,
        "门诊费用": "8000元", "参保类别": "居民", "全额补助人员类别": "困难家庭人员", "个人应缴费额": "350元",
        "当月个人账户记账金额": "100.05"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def policy_folder(tmp: Path) -> Path:
    """A project with the example policy at the top and a copy in a subfolder (id `sub/示例`)."""
    folder = tmp / "policies"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(EXAMPLE, folder / "tianjin_daibing.ybl")
    shutil.copy(EXAMPLE, folder / "sub" / "示例.ybl")
    (tmp / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    return folder


class Server:
    """`yibaolang serve ARGS` in `cwd`; `client` talks HTTP to it over the loopback."""

    def __init__(self, cwd: Path, *args: str, ready: float = 60.0) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cwd = cwd
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.stderr = cwd / f"serve-{self.port}.log"
        self._err = open(self.stderr, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "yibaolang", "serve", *args, "--port", str(self.port)],
                                     cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=self._err)
        self.client = httpx.Client(base_url=self.base, timeout=30.0)
        deadline = time.monotonic() + ready
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.stderr.read_text('utf-8')}")
            with contextlib.suppress(httpx.HTTPError):
                if self.client.get("/v1/health").status_code == 200:
                    break
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("server did not become ready")
            time.sleep(0.2)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.client.post(path, json=body)

    def close(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._err.close()


@contextlib.contextmanager
def serving(cwd: Path, *args: str) -> Iterator[Server]:
    server = Server(cwd, *args)
    try:
        yield server
    finally:
        server.close()


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yibaolang", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "100"})


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = {free_port() for _ in range(3)}
    assert all(1024 <= p <= 65535 for p in ports)
