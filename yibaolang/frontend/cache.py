"""The on-disk cache: the parsed IR of each policy file, like Python's .pyc.

A cold `yibaolang check` on a small file spends most of its time importing
Lark, loading the grammar tables and parsing.  The IR of a file depends only
on its text, its shown path, the grammar, this version and the code that
builds and defines the IR (the sources of `yibaolang/ir/`, `yibaolang/frontend/`
and `diagnostics.py`), so it is stored under a hash of all of those and
reused; on a hit Lark is not imported at all.

The cache trusts nothing it reads (docs/reliability.md, "解析缓存"):

- the folder belongs to the user alone (mode 0700, owner checked), and so
  does the key file in it (32 random bytes, mode 0600, owner checked);
- an entry is `MAGIC`, an HMAC-SHA256 tag, then the pickle; the tag covers
  the entry's name and the pickle, so an entry that was altered, truncated,
  written by anyone without the key or copied from another entry's name is
  never unpickled;
- only regular files of at most MAX_ENTRY_BYTES are read (a FIFO or a device
  in an entry's place is refused from `os.stat`, and opened with O_NONBLOCK);
- whatever an entry holds, it must unpickle to (ir.Module, [Diagnostic, ...])
  or it is a miss.

The cache is bounded: after each store, entries beyond MAX_CACHE_ENTRIES or
MAX_CACHE_BYTES are removed least recently used first (a hit refreshes an
entry's modification time), down to three quarters of the bound.

Any problem reading or writing the cache is a miss: the file is simply
parsed.  Set YIBAOLANG_NO_CACHE=1 to turn the parsed-file cache off (the
grammar tables stay cached).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import pickle
import stat
from pathlib import Path
from typing import Any

from yibaolang import __version__, ir
from yibaolang.diagnostics import Diagnostic
from yibaolang.frontend.source import SourceFile
from yibaolang.paths import ReadRefused, cache_dir, grammar_file, read_limited

MAGIC = b"YBIR\x00\x01\r\n"
TAG_BYTES = 32
KEY_BYTES = 32
MAX_ENTRY_BYTES = 64 * 1024 * 1024
# The whole cache (docs/reliability.md, 解析缓存): a few thousand policies' worth, far below a disk.
MAX_CACHE_ENTRIES = 2000
MAX_CACHE_BYTES = 256 * 1024 * 1024
_PACKAGE = Path(__file__).resolve().parent.parent
# The code whose classes are pickled or whose output is cached.
_IR_SOURCES = ("ir", "frontend", "diagnostics.py")


@functools.cache
def _grammar_digest() -> str:
    return hashlib.sha256(grammar_file().read_bytes()).hexdigest()


@functools.cache
def code_digest() -> str:
    """SHA-256 over the sources that build and define the cached IR: any change there is a new key."""
    h = hashlib.sha256()
    for name in _IR_SOURCES:
        path = _PACKAGE / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            h.update(file.relative_to(_PACKAGE).as_posix().encode())
            h.update(b"\0")
            try:
                h.update(file.read_bytes())
            except OSError:
                h.update(b"?")
            h.update(b"\0")
    return h.hexdigest()


def _entry(source: SourceFile) -> Path | None:
    if os.environ.get("YIBAOLANG_NO_CACHE"):
        return None
    folder = cache_dir()
    if folder is None:
        return None
    h = hashlib.sha256()
    for part in (__version__, _grammar_digest(), code_digest(), source.path, source.original):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return folder / f"ir-{h.hexdigest()[:40]}.pickle"


# ------------------------------------------------------------------ the key


def _private(info: os.stat_result) -> bool:
    return (stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & 0o077 and info.st_size == KEY_BYTES)


@functools.cache
def _key(folder: Path) -> bytes | None:
    """The user's cache key, made on first use; None if the file there cannot be trusted."""
    path = folder / "key"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            _make_key(path)
            continue
        except OSError:
            return None
        try:
            if not _private(os.fstat(fd)):
                return None
            key = os.read(fd, KEY_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        return key if len(key) == KEY_BYTES else None
    return None


def _make_key(path: Path) -> None:
    """Write a fresh key beside, then link it into place: two processes never see half a key."""
    temp = path.with_name(f".key-{os.getpid()}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, os.urandom(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(temp, path)  # fails if another process made one first: theirs is used
    except OSError:
        pass
    finally:
        try:
            os.unlink(temp)
        except OSError:
            pass


def _tag(key: bytes, entry: Path, payload: bytes) -> bytes:
    mac = hmac.new(key, entry.name.encode() + b"\0", hashlib.sha256)
    mac.update(payload)
    return mac.digest()


# ------------------------------------------------------------------ entries


def parse(source: SourceFile) -> tuple[ir.Module, list[Diagnostic]]:
    """syntax.parse, through the cache."""
    entry = _entry(source)
    key = _key(entry.parent) if entry is not None else None
    if entry is not None and key is not None:
        found = load(entry, key)
        if found is not None:
            try:
                os.utime(entry)  # recently used: kept by the eviction below
            except OSError:
                pass
            return found
    from yibaolang.frontend import syntax

    module, diagnostics = syntax.parse(source)
    if entry is not None and key is not None:
        _store(entry, key, (module, diagnostics))
    return module, diagnostics


def load(entry: Path, key: bytes) -> tuple[ir.Module, list[Diagnostic]] | None:
    """The entry's content if it is authentic and of the right shape; None (a miss) otherwise."""
    try:
        data = read_limited(entry, MAX_ENTRY_BYTES)
    except ReadRefused:
        return None
    head = len(MAGIC) + TAG_BYTES
    if len(data) <= head or not data.startswith(MAGIC):
        return None
    payload = data[head:]
    if not hmac.compare_digest(data[len(MAGIC):head], _tag(key, entry, payload)):
        return None
    try:
        cached: Any = pickle.loads(payload)
    except Exception:  # an authentic entry from a build whose classes no longer load
        return None
    if not (isinstance(cached, tuple) and len(cached) == 2):
        return None
    module, diagnostics = cached
    if not (isinstance(module, ir.Module) and isinstance(diagnostics, list)
            and all(isinstance(d, Diagnostic) for d in diagnostics)):
        return None
    return module, diagnostics


def _store(entry: Path, key: bytes, value: object) -> None:
    import tempfile

    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, RecursionError, TypeError, AttributeError):
        return
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + _tag(key, entry, payload) + payload)
        os.replace(tmp, entry)
        tmp = None
    except OSError:
        pass
    else:
        evict(entry.parent)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def evict(folder: Path, max_entries: int | None = None, max_bytes: int | None = None) -> int:
    """Remove the least recently used entries while the cache is over its bound; returns how many.

    Only this module's own entries (ir-*.pickle, regular files) are counted and removed; the key and
    anything else in the folder are left alone.  Down to three quarters of the bound, so that a full
    cache is not swept on every store.
    """
    limit_n = MAX_CACHE_ENTRIES if max_entries is None else max_entries
    limit_b = MAX_CACHE_BYTES if max_bytes is None else max_bytes
    entries: list[tuple[float, int, str]] = []
    try:
        with os.scandir(folder) as it:
            for item in it:
                if not (item.name.startswith("ir-") and item.name.endswith(".pickle")):
                    continue
                try:
                    info = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    entries.append((info.st_mtime, info.st_size, item.path))
    except OSError:
        return 0
    total = sum(size for _, size, _ in entries)
    if len(entries) <= limit_n and total <= limit_b:
        return 0
    entries.sort()
    keep_n, keep_b = limit_n * 3 // 4, limit_b * 3 // 4
    removed = 0
    for _, size, path in entries:
        if len(entries) - removed <= keep_n and total <= keep_b:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        removed += 1
        total -= size
    return removed
