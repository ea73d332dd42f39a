"""Where files may come from: the shipped data, and the one resolver for every path a policy names.

A policy names other files in three ways: `引用 "…"` (a module to import),
`依据 "…"` (the higher-level policy whose 约束 it must meet), and, on the
command line, folders walked by `check DIR` / `fmt DIR` and data files such as
`--table`.  All of them go through `resolve` (and `walk_policies` for folders),
which promises (docs/reliability.md, "路径与根目录"):

- symbolic links are followed to the real file, and the real file must lie
  inside one of the roots: the policy's project root (the nearest folder up
  holding pyproject.toml or yibaolang.toml) or the installed stdlib;
- a path outside the roots and a path that does not exist get the same
  answer (`Refusal.kind == "missing"`), so no message tells which files exist
  outside the roots; a path whose spelling already leaves the roots is
  refused before any system call is made on it;
- only regular files are accepted: a folder, FIFO, socket or device is
  refused from `os.stat` alone, and `read_limited` opens with O_NONBLOCK and
  checks the opened file again with `os.fstat`, so nothing can block a read;
- sizes are checked before reading and at most `limit + 1` bytes are read.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp()).resolve()
>>> _ = (root / "a.ybl").write_text("定义 甲 = 1\\n", encoding="utf-8")
>>> resolve([root / "a.ybl"], [root]) == root / "a.ybl"
True
>>> resolve([root / ".." / "etc" / "passwd"], [root]).kind
'missing'
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

_PACKAGE = Path(__file__).resolve().parent

# POSIX limits: one name component, and a whole path (Linux PATH_MAX).
NAME_MAX = 255
PATH_MAX = 4096


def data_dir(name: str) -> Path:
    """`grammar` or `stdlib`: packaged copy first, then the source checkout's."""
    packaged = _PACKAGE / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def grammar_file() -> Path:
    return data_dir("grammar") / "yibaolang.lark"


def stdlib_dir() -> Path:
    return data_dir("stdlib")


@functools.cache
def cache_dir() -> Path | None:
    """The user's private cache folder (the grammar tables and the parsed files), or None."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    home = Path.home() / ".cache" if Path.home().is_dir() else None
    base = Path(xdg) if xdg else home
    if base is None:
        import tempfile  # only here: it is slow to import, and a cold check rarely needs it

        base = Path(tempfile.gettempdir())
        folder = base / f"yibaolang-{os.getuid()}"
    else:
        folder = base / "yibaolang"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None  # someone else could write entries: do not trust it
    if info.st_mode & 0o077:
        try:  # made by an older version or by hand: entries hold the user's policies, keep them private
            os.chmod(folder, 0o700)
        except OSError:
            return None
    return folder


# ------------------------------------------------------------------ roots


def find_project_root(start: Path) -> Path:
    """The nearest folder up with pyproject.toml or yibaolang.toml, else `start` itself (resolved)."""
    here = start.resolve()
    for folder in [here, *here.parents]:
        for marker in ("pyproject.toml", "yibaolang.toml"):
            try:
                if stat.S_ISREG(os.stat(folder / marker).st_mode):
                    return folder
            except (OSError, ValueError):
                continue  # absent, unreadable, or a name too long to exist
    return here


def policy_roots(project_root: Path, *extra: Path) -> tuple[Path, ...]:
    """The folders a policy may read from: its project, the stdlib, and any `extra` (resolved)."""
    return tuple(dict.fromkeys(p.resolve() for p in (project_root, stdlib_dir(), *extra)))


def is_within(path: Path, roots: Iterable[Path]) -> bool:
    """Whether `path` (already absolute and normalised) lies in one of `roots`."""
    return any(path == root or root in path.parents for root in roots)


# ------------------------------------------------------------------ the resolver


@attrs.frozen(slots=True)
class Refusal:
    """Why a path was not accepted, in words for the drafter.

    `kind` is one of: "missing" (not there, or outside the roots: the same
    answer on purpose), "too-long" (a name component over 255 bytes or a
    path over 4096), "folder", "special" (FIFO, socket, device),
    "too-large", "unreadable" (permission and other errors inside the roots).
    """

    kind: str
    reason: str


MISSING = "不存在，或不在项目文件夹与标准库之内"


def _too_long(path: str) -> bool:
    try:
        encoded = os.fsencode(path)
    except UnicodeEncodeError:
        return True  # not representable as a file name at all
    return len(encoded) >= PATH_MAX or any(len(part) > NAME_MAX for part in encoded.split(b"/"))


def resolve(candidates: Sequence[Path], roots: Sequence[Path]) -> Path | Refusal:
    """The first candidate that is a regular file inside `roots`, resolved; else why not.

    Candidates are tried in order (an import: beside the importer, the project
    root, the stdlib).  A candidate that is absent or outside the roots is
    skipped silently; if none is found the answer is "missing" whatever the
    reason, so an outside path is indistinguishable from an absent one.  The
    first candidate that exists inside the roots but cannot be used (a folder,
    a FIFO, too long a name) decides the refusal.
    """
    for candidate in candidates:
        found = _resolve_one(candidate, roots)
        if isinstance(found, Path) or found.kind != "missing":
            return found
    return Refusal("missing", MISSING)


def _resolve_one(candidate: Path, roots: Sequence[Path]) -> Path | Refusal:
    spelled = os.path.abspath(candidate)
    if "\x00" in spelled:
        return Refusal("missing", MISSING)
    if _too_long(spelled):
        return Refusal("too-long", f"路径过长（一段名称最多 {NAME_MAX} 字节，整个路径最多 {PATH_MAX - 1} 字节）")
    if not is_within(Path(os.path.normpath(spelled)), roots):
        return Refusal("missing", MISSING)  # refused from its spelling alone: nothing outside is touched
    real = Path(os.path.realpath(spelled))
    if not is_within(real, roots):
        return Refusal("missing", MISSING)
    try:
        info = os.stat(real)
    except OSError as exc:
        return _os_refusal(exc)
    refused = _kind_refusal(info)
    return real if refused is None else refused


def _kind_refusal(info: os.stat_result) -> Refusal | None:
    if stat.S_ISREG(info.st_mode):
        return None
    if stat.S_ISDIR(info.st_mode):
        return Refusal("folder", "这是一个文件夹，不是文件")
    return Refusal("special", "不是普通文件（是管道、套接字或设备），不会读取")


def _os_refusal(exc: OSError) -> Refusal:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
        return Refusal("missing", MISSING)
    if exc.errno == errno.ENAMETOOLONG:
        return Refusal("too-long", "路径过长")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Refusal("unreadable", "没有读取权限")
    return Refusal("unreadable", exc.strerror or "读取失败")


def check_file(path: Path) -> Path | Refusal:
    """A path the user named on the command line (any folder): must exist and be a regular file.

    No root applies (the user chose the file), but the kind and the name length do.
    """
    spelled = os.path.abspath(path)
    if _too_long(spelled):
        return Refusal("too-long", f"路径过长（一段名称最多 {NAME_MAX} 字节）")
    try:
        info = os.stat(spelled)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return Refusal("missing", "文件不存在")
        return _os_refusal(exc)
    refused = _kind_refusal(info)
    return Path(spelled) if refused is None else refused


def resolve_data_file(path: Path, project_root: Path) -> Path | Refusal:
    """A data file a policy run reads from the command line (`--table` and the like).

    Relative paths are taken from the current folder (its folder is resolved
    first, so a data folder reached through a link inside the project is
    fine); the file itself must be a regular file inside the policy's project
    root (or the stdlib).
    """
    folder = Path(os.path.realpath(os.path.abspath(path.parent)))
    return resolve([folder / path.name], policy_roots(project_root))


# ------------------------------------------------------------------ reading


class ReadRefused(Exception):
    """`read_limited` would not (or could not) read the file; `refusal` says why."""

    def __init__(self, refusal: Refusal, size: int | None = None) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal
        self.size = size


def read_limited(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; ReadRefused otherwise.

    The size and kind come from `os.stat` before opening, and again from
    `os.fstat` of the opened descriptor (the file may have been swapped in
    between); O_NONBLOCK keeps a FIFO put in its place from blocking the open,
    and no more than `limit + 1` bytes are ever read, whatever the file claims.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ReadRefused(_os_refusal(exc)) from None
    refused = _kind_refusal(info)
    if refused is not None:
        raise ReadRefused(refused)
    if info.st_size > limit:
        raise ReadRefused(Refusal("too-large", f"文件过大：{info.st_size} 字节，超过上限 {limit} 字节"), info.st_size)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ReadRefused(_os_refusal(exc)) from None
    try:
        opened = os.fstat(fd)
        refused = _kind_refusal(opened)
        if refused is not None:
            raise ReadRefused(refused)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise ReadRefused(_os_refusal(exc)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise ReadRefused(Refusal("too-large", f"文件过大：超过上限 {limit} 字节"), len(data))
    return data


# ------------------------------------------------------------------ folders


@attrs.frozen(slots=True)
class Skipped:
    """A file or folder a walk did not take, and why (reported, never silent)."""

    path: str
    refusal: Refusal


def walk_policies(paths: Sequence[str], suffix: str = ".ybl") -> tuple[list[str], list[Skipped]]:
    """The `suffix` files named, or found (recursively, sorted) under the folders named.

    A file named on the command line is taken as named.  Inside a folder, each
    entry is resolved like an import: a link whose real file or folder lies
    outside the folder's project root and the stdlib (or nowhere) is skipped as
    "missing"; a FIFO or device named `*.ybl` is skipped; a subfolder that
    cannot be listed is reported; hidden entries (`.git`, `.venv`) are not
    walked.  Nothing a walk skips is ever opened.
    """
    files: list[str] = []
    skipped: list[Skipped] = []
    for raw in paths:
        top = Path(raw)
        if not top.is_dir():
            files.append(raw)
            continue
        roots = policy_roots(find_project_root(top))
        seen: set[Path] = set()
        _walk(top, roots, suffix, seen, files, skipped)
    return files, skipped


def _walk(folder: Path, roots: Sequence[Path], suffix: str, seen: set[Path],
          files: list[str], skipped: list[Skipped]) -> None:
    real = folder.resolve()
    if real in seen:
        return  # a link back to a folder already walked
    seen.add(real)
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        skipped.append(Skipped(str(folder), _folder_refusal(exc)))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # hidden folders and files (.git, .venv, editors' state) hold no policies
        path = folder / entry.name  # as shown; `real / entry.name` is what is resolved
        try:
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError as exc:
            skipped.append(Skipped(str(path), _os_refusal(exc)))
            continue
        if is_link:
            target = _resolve_one(real / entry.name, roots)
            if isinstance(target, Refusal):
                if target.kind == "folder":
                    _walk(path, roots, suffix, seen, files, skipped)
                elif entry.name.endswith(suffix) or "." not in entry.name:  # a .ybl, or maybe a folder
                    skipped.append(Skipped(str(path), _link_refusal(target)))
                continue
            if entry.name.endswith(suffix):
                files.append(str(path))
            continue
        if is_dir:
            _walk(path, roots, suffix, seen, files, skipped)
            continue
        if not entry.name.endswith(suffix):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            skipped.append(Skipped(str(path), _os_refusal(exc)))
            continue
        refused = _kind_refusal(info)
        if refused is not None:
            skipped.append(Skipped(str(path), refused))
        else:
            files.append(str(path))


def _link_refusal(refusal: Refusal) -> Refusal:
    if refusal.kind == "missing":
        return Refusal("missing", "是一个链接，指向的文件不存在，或不在项目文件夹与标准库之内")
    return refusal


def _folder_refusal(exc: OSError) -> Refusal:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Refusal("unreadable", "没有读取这个文件夹的权限，其中的文件没有检查")
    return Refusal("unreadable", f"无法列出这个文件夹（{exc.strerror or exc}），其中的文件没有检查")
