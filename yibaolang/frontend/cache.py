"""The on-disk cache: the parsed IR of each policy file, like Python's .pyc.

A cold `yibaolang check` on a small file spends most of its time importing
Lark, loading the grammar tables and parsing.  The IR of a file depends only
on its text, its shown path, the grammar and this version, so it is stored
under a hash of those and reused; on a hit Lark is not imported at all.

The cache directory belongs to the user alone (mode 0700, checked): a cache
entry is a pickle, and only this program writes them.  Any problem reading or
writing the cache is ignored (the file is simply parsed).  Set
YIBAOLANG_NO_CACHE=1 to turn the parsed-file cache off (the grammar tables
stay cached).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import stat
import tempfile
from pathlib import Path
from typing import Any

from yibaolang import __version__, ir
from yibaolang.diagnostics import Diagnostic
from yibaolang.frontend.source import SourceFile
from yibaolang.paths import grammar_file


@functools.cache
def cache_dir() -> Path | None:
    """The user's private cache folder (the grammar tables and the parsed files), or None."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    home = Path.home() / ".cache" if Path.home().is_dir() else None
    base = Path(xdg) if xdg else home
    folder = base / "yibaolang" if base is not None else Path(tempfile.gettempdir()) / f"yibaolang-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None  # someone else could write entries: do not trust it
    return folder


@functools.cache
def _grammar_digest() -> str:
    return hashlib.sha256(grammar_file().read_bytes()).hexdigest()


def _entry(source: SourceFile) -> Path | None:
    if os.environ.get("YIBAOLANG_NO_CACHE"):
        return None
    folder = cache_dir()
    if folder is None:
        return None
    h = hashlib.sha256()
    for part in (__version__, _grammar_digest(), source.path, source.original):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return folder / f"ir-{h.hexdigest()[:40]}.pickle"


def parse(source: SourceFile) -> tuple[ir.Module, list[Diagnostic]]:
    """syntax.parse, through the cache."""
    entry = _entry(source)
    if entry is not None:
        try:
            with entry.open("rb") as f:
                cached: Any = pickle.load(f)
            module, diagnostics = cached
            if isinstance(module, ir.Module) and isinstance(diagnostics, list):
                return module, diagnostics
        except FileNotFoundError:
            pass
        except Exception:
            pass
    from yibaolang.frontend import syntax

    module, diagnostics = syntax.parse(source)
    if entry is not None:
        _store(entry, (module, diagnostics))
    return module, diagnostics


def _store(entry: Path, value: object) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except (OSError, pickle.PicklingError, RecursionError):
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
