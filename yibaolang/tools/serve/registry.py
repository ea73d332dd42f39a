"""The policies a server answers for, and their hot reload (docs/serve.md, "热加载").

A policy's id is its path relative to the folder it was found in, without
`.ybl`, `/`-separated.  Each entry holds the last good `Policy` (what is
served) and the diagnostics of the latest load; a reload builds a new `Policy`
completely and only then replaces the reference, so a request sees either the
old version or the new one, never a half-loaded policy.  A broken edit keeps the
old version (and its version hash) serving while its diagnostics are shown.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from yibaolang.api import Policy, version_of
from yibaolang.diagnostics import Diagnostic, has_errors, to_json_obj

Stamp = tuple[int, int, int]  # mtime_ns, size, inode


def _stamp(path: str) -> Stamp | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


def policy_id(path: Path, folder: Path) -> str:
    """`folder/itemized/住院结算.ybl` → `itemized/住院结算`."""
    return path.relative_to(folder).with_suffix("").as_posix()


@attrs.define(eq=False)
class Entry:
    id: str
    path: str
    policy: Policy | None = None          # the last good version: what is served
    diagnostics: list[Diagnostic] = attrs.Factory(list)  # of the latest load (errors keep `policy` as it was)
    stamps: dict[str, Stamp | None] = attrs.Factory(dict)  # every file the latest load read
    stale: bool = False  # the latest load failed; an earlier good version is served
    catalogs: list[str] = attrs.Factory(list)  # the 目录 the policy declares (for `--table` names)

    @property
    def loaded(self) -> bool:
        return self.policy is not None


def load_entry(entry: Entry, tables: dict[str, str] | None = None) -> None:
    """(Re)load `entry` from disk: a good load replaces the served policy, a broken one only its diagnostics.

    The data files of its 目录 (`tables` overrides them, as `--table` does) are read and checked here, once
    per load; a policy whose catalog data are wrong is not served (the previous good version stays), and a
    change to a data file reloads the policy like a change to the policy file.
    """
    from yibaolang.analysis.lint import check_policy
    from yibaolang.checks.compiler import compile_policy
    from yibaolang.engines.catalogs import catalog_files, load_catalogs
    from yibaolang.engines.evaluate import evaluator_for
    from yibaolang.files import program_files
    from yibaolang.tools.tables import declared_catalogs

    before = _stamp(entry.path)
    try:
        # Served when it compiles, as `yibaolang run` runs it; the lints' findings are shown, not blocking.
        program = compile_policy(entry.path)
        catalogs: dict[str, Any] = {}
        entry.catalogs = declared_catalogs(program)
        program.tables = {n: p for n, p in (tables or {}).items() if n in entry.catalogs}
        if not has_errors(program.diagnostics):
            program.diagnostics[:] = check_policy(entry.path).diagnostics
            if entry.catalogs:
                catalogs, problems = load_catalogs(program)
                program.diagnostics.extend(problems)
    except (RecursionError, MemoryError) as exc:  # a file too deep to read: a diagnostic, not a dead server
        from yibaolang.diagnostics import error
        from yibaolang.ir import Span

        entry.diagnostics = [error("YB001", Span(entry.path, 0, 0, 0, 0), f"无法读入政策：{type(exc).__name__}")]
        entry.stamps = {entry.path: before}
        entry.stale = entry.policy is not None
        return
    stamps = {entry.path: before, **{f: _stamp(f) for f in [*program_files(program), *catalog_files(program)]}}
    entry.diagnostics = list(program.diagnostics)
    entry.stamps = stamps
    if any(d.is_error and not d.code.startswith("YB5") for d in program.diagnostics):
        entry.stale = entry.policy is not None
        return
    # Compiled before it is served, so the first request does not pay for it.
    evaluator_for(program, False)
    evaluator_for(program, True)
    version = version_of(program)
    if catalogs:  # the version covers the data of the 目录 too: new data, new version
        digest = hashlib.sha256(version.encode("ascii"))
        for name in sorted(catalogs):
            digest.update(f"{name}\0{catalogs[name].digest}\0".encode())
        version = digest.hexdigest()[:16]
    entry.policy = Policy(entry.path, program, version, list(program.diagnostics))
    entry.stale = False


def policy_summary(entry: Entry) -> dict[str, Any]:
    errors = sum(1 for d in entry.diagnostics if d.is_error)
    policy = entry.policy
    if policy is None:
        return {"id": entry.id, "name": None, "version": None, "文号": None, "errors": errors, "stale": False}
    return {"id": entry.id, **policy.summary(), "errors": errors, "stale": entry.stale}


def policy_detail(entry: Entry) -> dict[str, Any]:
    doc = policy_summary(entry)
    policy = entry.policy
    doc["inputs"] = [spec.as_json() for spec in policy.inputs()] if policy is not None else []
    doc["outputs"] = policy.outputs() if policy is not None else []
    doc["clauses"] = policy.clauses() if policy is not None else []
    doc["diagnostics"] = [to_json_obj(d) for d in entry.diagnostics]
    return doc


class Registry:
    """The policies under some folders, by id; `refresh()` picks up edits, new files and removed files."""

    def __init__(self, folders: list[str], tables: dict[str, str] | None = None) -> None:
        self.folders = [Path(f) for f in folders]
        self.tables = dict(tables or {})
        self.entries: dict[str, Entry] = {}
        self.skipped: list[str] = []
        self._lock = threading.Lock()

    def _found(self) -> dict[str, str]:
        from yibaolang.paths import walk_policies

        found: dict[str, str] = {}
        skipped: list[str] = []
        for folder in self.folders:
            if folder.is_file():
                found.setdefault(folder.stem, str(folder))
                continue
            files, skips = walk_policies([str(folder)])
            skipped += [f"{s.path}：{s.refusal.reason}" for s in skips]
            for file in files:
                found.setdefault(policy_id(Path(file), folder), file)  # the first folder named wins a clash
        self.skipped = skipped
        return found

    def refresh(self) -> list[str]:
        """Reload what changed on disk; the ids (re)loaded."""
        with self._lock:
            found = self._found()
            # Copy, change, then swap: a request iterating the policies never sees the table change under it.
            entries = {pid: e for pid, e in self.entries.items() if pid in found}
            changed = [pid for pid in self.entries if pid not in found]
            for pid, path in found.items():
                entry = entries.get(pid)
                if entry is None or entry.path != path:
                    entry = Entry(pid, path)
                elif all(_stamp(f) == s for f, s in entry.stamps.items()):
                    continue
                load_entry(entry, self.tables)
                entries[pid] = entry
                changed.append(pid)
            self.entries = entries
            return changed

    def get(self, pid: str) -> Entry | None:
        return self.entries.get(pid)

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(list(self.entries.values()), key=lambda e: e.id))


class Watcher:
    """Polls the folders every `interval` seconds in a daemon thread (a stat per file: cheap and portable)."""

    def __init__(self, registries: list[Registry], interval: float = 1.0) -> None:
        self.registries = registries
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="yibaolang-reload", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import logging

        log = logging.getLogger("yibaolang.serve")
        while not self._stop.wait(self.interval):
            for registry in self.registries:
                try:
                    for pid in registry.refresh():
                        entry = registry.get(pid)
                        if entry is None:
                            log.info("政策 %s 已移除", pid)
                        elif entry.policy is not None and not has_errors(entry.diagnostics):
                            log.info("已加载政策 %s（版本 %s）", pid, entry.policy.version)
                        else:
                            log.warning("政策 %s 有错误，继续使用上一个正确的版本", pid)
                except Exception:  # a reload must never stop the server; the next tick tries again
                    log.exception("重新加载政策时出错")
