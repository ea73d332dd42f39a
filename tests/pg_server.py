"""A throwaway PostgreSQL server for the database tests and benchmarks/db_bench.py (docs/batch.md 数据源).

`start()` runs Debian's `initdb` and `pg_ctl start` (/usr/lib/postgresql/NN/bin) in a fresh temporary
folder, listening on 127.0.0.1 on a free port only (no Unix socket), with password (SCRAM) authentication.
PostgreSQL refuses to run as root: when this process is root (CI runs as root), the server runs as the
unprivileged user `nobody` through `runuser`, in a folder given to that user.  `stop()` stops it and
removes the folder.  When PostgreSQL is not installed, `start()` raises `PgMissing` with the command that
installs it — the tests then fail, they do not skip (.ci/run installs the package).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

USER = "yb"
PASSWORD = "口令-yb-470"
DATABASE = "claims"


class PgMissing(RuntimeError):
    pass


@dataclass
class Server:
    bindir: str
    folder: str
    port: int
    run_as: str | None

    @property
    def url(self) -> str:
        """A URL with no password (the tests give it through the URL, PGPASSWORD or a pgpass file)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def url_with_password(self) -> str:
        from urllib.parse import quote

        return f"postgresql://{USER}:{quote(PASSWORD)}@127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self._data, "-m", "immediate", "-w", "stop"],
                      check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def _data(self) -> str:
        return os.path.join(self.folder, "data")

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        if self.run_as is not None:
            args = ["runuser", "-u", self.run_as, "--", *args]
        return subprocess.run(args, check=check, capture_output=True, text=True, timeout=120, cwd=self.folder)


def find_bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        on_path = shutil.which("initdb")
        if on_path:
            return os.path.dirname(on_path)
        raise PgMissing("没有安装 PostgreSQL（找不到 /usr/lib/postgresql/*/bin/initdb）："
                        "数据库测试需要它，请运行 apt-get install -y postgresql（.ci/run 会安装）")
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start() -> Server:
    bindir = find_bindir()
    run_as = "nobody" if os.geteuid() == 0 else None
    folder = tempfile.mkdtemp(prefix="yb-pg-")
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    pwfile = os.path.join(folder, "pw")
    with open(pwfile, "w", encoding="utf-8") as fh:
        fh.write(PASSWORD + "\n")
    if run_as is not None:
        os.chown(pwfile, pwd.getpwnam(run_as).pw_uid, -1)
    port = _free_port()
    server = Server(bindir, folder, port, run_as)
    try:
        server._run([os.path.join(bindir, "initdb"), "-D", server._data, "-U", USER, "--pwfile", pwfile,
                     "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync"])
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
                   "-c fsync=on -c max_connections=40 -c shared_buffers=128MB")
        server._run([os.path.join(bindir, "pg_ctl"), "-D", server._data, "-l", os.path.join(folder, "log"),
                     "-o", options, "-w", "-t", "60", "start"])
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        subprocess.run([os.path.join(bindir, "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE],
                       check=True, capture_output=True, text=True, timeout=60, env=env)
    except subprocess.CalledProcessError as exc:
        log = ""
        with contextlib.suppress(OSError), open(os.path.join(folder, "log"), encoding="utf-8") as fh:
            log = fh.read()[-2000:]
        server.stop()
        raise PgMissing(f"无法启动临时的 PostgreSQL：{exc.cmd}\n{exc.stderr}\n{log}") from None
    except BaseException:
        server.stop()
        raise
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        time.sleep(0.1)
    return server
