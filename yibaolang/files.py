"""The one way yibaolang writes a file (docs/reliability.md, "输出文件").

Every command that writes a file — `run --cases -o`, `compare -o`, `explain -o`,
`plot -o`, `sample -o`, `check --counterexamples`, `fmt` — goes through
`Output`: the output may not be one of the command's inputs (compared by
device and inode and by resolved path, so `./x`, a symbolic link or a hard link
to an input are all caught); the data goes to a temporary file in the target's
folder, is fsynced, renamed over the target, and the folder is fsynced; a
failure or a SIGTERM/SIGINT removes the temporary file and leaves the previous
file as it was.  New files get the user's umask.  Failures are `OutputError`s
with a Chinese message naming the path (YB020, YB021 in docs/diagnostics.md).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import re
import secrets
import signal
import stat
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

SAME_AS_INPUT = "YB020"
CANNOT_WRITE = "YB021"

# errno → what a user reads; the rest fall back to the system's own words.
REASONS: dict[int, str] = {
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "超出磁盘配额",
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
    errno.ENOENT: "所在的文件夹不存在",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.EISDIR: "这是一个文件夹",
    errno.EROFS: "文件系统是只读的",
    errno.EFBIG: "文件超过了允许的大小（例如 ulimit -f）",
    errno.ENAMETOOLONG: "文件名过长",
    errno.EIO: "输入输出错误",
    errno.EPIPE: "读取的一方已关闭",
    errno.ELOOP: "符号链接层数过多",
    errno.EXDEV: "临时文件与目标不在同一个文件系统",
}


class OutputError(Exception):
    """An output that cannot or must not be written: one Chinese diagnostic, exit 1."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"错误[{self.code}]：{self.message}"
        return text + (f"\n  提示：{self.hint}" if self.hint else "")


def os_reason(exc: BaseException) -> str:
    """The Chinese reason for an OSError (pyarrow's errors carry the errno only in their text)."""
    number = getattr(exc, "errno", None)
    if not isinstance(number, int):
        found = re.search(r"errno[ =]?(\d+)", str(exc), re.IGNORECASE)
        number = int(found.group(1)) if found else None
    if number is not None and number in REASONS:
        return REASONS[number]
    if number is not None:
        return os.strerror(number)
    return str(exc) or type(exc).__name__


def write_failed(exc: BaseException, path: str | os.PathLike[str]) -> OutputError:
    return OutputError(CANNOT_WRITE, f"无法写入 {os.fspath(path)}：{os_reason(exc)}",
                       "原有的文件（如果有）没有改动；请检查路径、权限与磁盘空间")


def _identity(path: str | os.PathLike[str]) -> tuple[tuple[int, int] | None, str]:
    try:
        info = os.stat(path)
        key: tuple[int, int] | None = (info.st_dev, info.st_ino)
    except OSError:
        key = None
    return key, os.path.realpath(path)


def refuse_inputs(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """An OutputError when `path` is (a spelling of, a link to) one of `inputs`."""
    key, real = _identity(path)
    for item in inputs:
        other_key, other_real = _identity(item)
        if (key is not None and key == other_key) or real == other_real:
            raise OutputError(SAME_AS_INPUT, f"输出文件 {os.fspath(path)} 就是输入文件 {os.fspath(item)}，不能覆盖输入",
                              "请用 -o 指定另一个文件名")


def current_umask() -> int:
    # os.umask can only be read by setting it; the lock keeps threads from seeing the 0 in between.
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


# ------------------------------------------------------------------ temporaries and signals

_LIVE: set[str] = set()  # temporary files not yet renamed or removed
_PREVIOUS: dict[int, Any] = {}
_CLEANUP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))


def _on_signal(signum: int, frame: FrameType | None) -> None:
    remove_temporaries()
    # The usual 128+n of a process ended by signal n; SystemExit unwinds so every writer closes.
    raise SystemExit(128 + signum)


def remove_temporaries() -> None:
    for name in list(_LIVE):
        with contextlib.suppress(OSError):
            os.unlink(name)
        _LIVE.discard(name)


# A temporary file never outlives the process, however it ends short of SIGKILL.
atexit.register(remove_temporaries)


def _register(name: str) -> None:
    if not _LIVE and threading.current_thread() is threading.main_thread():
        for number in _CLEANUP_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                _PREVIOUS[number] = signal.signal(number, _on_signal)
    _LIVE.add(name)


def _unregister(name: str) -> None:
    _LIVE.discard(name)
    if not _LIVE and _PREVIOUS and threading.current_thread() is threading.main_thread():
        for number, handler in list(_PREVIOUS.items()):
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(number, handler)
        _PREVIOUS.clear()


def ignore_file_size_signal() -> None:
    """Under `ulimit -f` a write past the limit then fails with EFBIG instead of killing the process."""
    sigxfsz = getattr(signal, "SIGXFSZ", None)
    if sigxfsz is not None and threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sigxfsz, signal.SIG_IGN)


# ------------------------------------------------------------------ the writer


class Output:
    """A file written completely or not at all.

    `tmp` is the temporary file (for writers such as pyarrow's that open a path
    themselves); `handle` is an open binary file on it.  `commit` fsyncs and
    renames it over the target; `abort` removes it.  As a context manager, a
    clean exit commits and an exception aborts.  `mode` keeps a given
    permission (fmt rewriting a policy); otherwise the file gets the umask.
    """

    def __init__(self, path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = (),
                 mode: int | None = None) -> None:
        self.shown = os.fspath(path)
        refuse_inputs(path, inputs)
        target = Path(path)
        if target.is_symlink():  # write the file the link points to and keep the link
            target = Path(os.path.realpath(target))
        if target.is_dir():
            raise OutputError(CANNOT_WRITE, f"无法写入 {self.shown}：这是一个文件夹", "请给出一个文件名")
        folder = target.parent
        if not folder.is_dir():
            raise OutputError(CANNOT_WRITE, f"无法写入 {self.shown}：文件夹 {folder} 不存在",
                              "请先创建这个文件夹，或换一个路径")
        self.path = target
        self.mode = mode
        stem = target.name.encode("utf-8")[:120].decode("utf-8", "ignore")
        name = folder / f".{stem}.{secrets.token_hex(4)}.tmp"
        _register(str(name))  # before the file exists, so a signal can never leave it behind
        try:
            # 0o666 through the umask, as any program creating a file; O_EXCL so nothing is clobbered.
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            _unregister(str(name))
            raise write_failed(exc, self.shown) from None
        self.tmp = name
        self.handle: IO[bytes] | None = os.fdopen(fd, "wb")
        self.done = False

    def write(self, data: bytes) -> None:
        assert self.handle is not None
        try:
            self.handle.write(data)
        except OSError as exc:
            raise write_failed(exc, self.shown) from None

    def release(self) -> None:
        """Close the handle (for a writer that reopens `tmp` by its path)."""
        if self.handle is not None:
            handle, self.handle = self.handle, None
            try:
                handle.close()
            except OSError as exc:
                raise write_failed(exc, self.shown) from None

    def commit(self) -> None:
        if self.handle is not None and self.handle.closed:  # closed by the writer that used it
            self.handle = None
        try:
            if self.handle is not None:
                self.handle.flush()
                os.fsync(self.handle.fileno())
                self.release()
            else:
                fd = os.open(self.tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if self.mode is not None:
                os.chmod(self.tmp, stat.S_IMODE(self.mode))
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise write_failed(exc, self.shown) from None
        _unregister(str(self.tmp))
        self.done = True
        _sync_folder(self.path.parent)

    def abort(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(OSError):
                self.handle.close()
            self.handle = None
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)
        _unregister(str(self.tmp))
        self.done = True

    def __enter__(self) -> Output:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk; some file systems refuse, which is fine.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes(path: str | os.PathLike[str], data: bytes, inputs: Iterable[str | os.PathLike[str]] = (),
                mode: int | None = None) -> None:
    with Output(path, inputs, mode) as out:
        out.write(data)


def write_text(path: str | os.PathLike[str], text: str, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    write_bytes(path, text.encode("utf-8"), inputs)


def program_files(program: Any) -> list[str]:
    """Every file a compiled program read (the policy and what it imports)."""
    return [scope.path for scope in program.modules.values() if getattr(scope, "path", None)]


def stdout_failed(exc: OSError) -> str:
    """After a failed write to standard output: stop writing there and say why."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail a second time
        os.close(devnull)
    return f"错误[{CANNOT_WRITE}]：无法写入标准输出：{os_reason(exc)}"


__all__ = ["CANNOT_WRITE", "SAME_AS_INPUT", "Output", "OutputError", "ignore_file_size_signal", "os_reason",
           "program_files", "refuse_inputs", "remove_temporaries", "stdout_failed", "write_bytes", "write_failed",
           "write_text"]
