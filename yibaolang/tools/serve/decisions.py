"""The decision log and its replay (docs/serve.md, "决定日志").

One JSON line per answered decision, appended and flushed before the answer
is sent: decision_id, time, policy id, version, date, inputs (each in the
encoding of docs/cli.md, so exact and readable back as a case), outputs.
When the file passes `max_bytes` it is renamed to PATH.1 (PATH.1 to PATH.2 …,
`backups` kept) and a new one started.  Shadow evaluations add lines of
`"type": "shadow"` only when the candidate's outputs differ.

`replay(lines, registry)` evaluates every logged decision again and reports
the ones whose outputs differ now.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from yibaolang.api import Policy
from yibaolang.engines.outcome import CaseInput, Outcome
from yibaolang.ir.types import Type
from yibaolang.semantics.values import to_json

DECISION = "decision"
SHADOW = "shadow"
MAX_LINE = 4 * 1024 * 1024  # a log line longer than this is not one yibaolang wrote


def new_id() -> str:
    return uuid.uuid4().hex


def logged_inputs(case: CaseInput, types: dict[str, Type]) -> dict[str, Any]:
    """The case's values as the log keeps them (to_json of each input: exact, readable back as a case)."""
    return {name: to_json(types[name], value) if name in types else str(value) for name, value in case.values.items()}


def output_values(outcome: Outcome) -> dict[str, Any]:
    return {out.name: to_json(out.type, out.value) for out in outcome.outputs if out.ok}


class DecisionLog:
    """JSON Lines, appended and flushed per decision, rotated by size.

    Safe to share between threads and between the worker processes of `serve --workers N`: each line is
    written under an exclusive lock on PATH.lock, after checking that PATH is still the file this process
    has open (another process may have rotated it) and whether it is full."""

    def __init__(self, path: str, max_bytes: int = 100 * 1024 * 1024, backups: int = 5) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._lockfile = open(path + ".lock", "a")
        self._file = open(path, "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        size = len(line.encode("utf-8"))
        with self._lock, _locked(self._lockfile):
            current = _inode(self.path)
            if current is None or current != os.fstat(self._file.fileno()).st_ino:
                self._reopen()  # rotated (or removed) by another process
            used = os.fstat(self._file.fileno()).st_size
            if used and used + size > self.max_bytes:
                self._rotate()
            self._file.write(line)
            self._file.flush()

    def _reopen(self) -> None:
        self._file.close()
        self._file = open(self.path, "a", encoding="utf-8")

    def _rotate(self) -> None:
        for n in range(self.backups - 1, 0, -1):
            older = f"{self.path}.{n}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{n + 1}")
        if self.backups > 0:
            os.replace(self.path, f"{self.path}.1")
        else:
            os.unlink(self.path)
        self._reopen()

    def close(self) -> None:
        with self._lock:
            self._file.close()
            self._lockfile.close()


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


@contextlib.contextmanager
def _locked(handle: Any) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: one process only (serve --workers needs fork-style processes anyway)
        yield
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def decision_record(decision_id: str, kind: str, policy_id: str, policy: Policy, case: CaseInput,
                    outcome: Outcome, requested: list[str] | None) -> dict[str, Any]:
    return {
        "type": DECISION,
        "decision_id": decision_id,
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "endpoint": kind,
        "policy": policy_id,
        "version": policy.version,
        "date": outcome.date.isoformat() if outcome.date is not None else None,
        "inputs": logged_inputs(case, policy.input_types()),
        "requested": requested,
        "outputs": output_values(outcome),
    }


@attrs.define(eq=False)
class Decision:
    """One answered request: what was asked, of which version, and what came out."""

    entry: Any  # registry.Entry
    policy: Policy
    case: CaseInput
    outcome: Outcome
    request: Any  # requests.CaseRequest
    decision_id: str


# ------------------------------------------------------------------ replay


@attrs.frozen(slots=True)
class Difference:
    decision_id: str
    policy: str
    logged_version: str
    version: str | None
    output: str
    logged: Any
    now: Any


@attrs.frozen(slots=True)
class Problem:
    where: str       # "LOG:行号"
    message: str


def read_log(path: str) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """Each line of a decision log: the record, or a Problem saying why it cannot be read."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            where = f"{path}:{number}"
            if len(raw) > MAX_LINE:
                yield number, Problem(where, f"这一行过长（{len(raw):,} 字节），不是 yibaolang 写的决定记录")
                continue
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                yield number, Problem(where, "这一行不是有效的 JSON")
                continue
            if not isinstance(record, dict):
                yield number, Problem(where, "这一行不是决定记录（应为 JSON 对象）")
                continue
            yield number, record


def replay_record(record: dict[str, Any], where: str, registry: Any) -> list[Difference] | Problem | None:
    """The differences between a logged decision and the same case evaluated now (None: not a decision)."""
    from yibaolang.api import CaseError
    from yibaolang.semantics.values import parse_date_text

    if record.get("type", DECISION) != DECISION:
        return None
    keys = ("decision_id", "policy", "version", "inputs", "outputs")
    if any(k not in record for k in keys) or not isinstance(record["inputs"], dict) \
            or not isinstance(record["outputs"], dict):
        return Problem(where, "决定记录缺少字段（需要 decision_id、policy、version、inputs、outputs）")
    entry = registry.get(str(record["policy"]))
    if entry is None or entry.policy is None:
        return Problem(where, f"找不到政策“{record['policy']}”（或它有错误），无法重算决定 {record['decision_id']}")
    policy = entry.policy
    date = parse_date_text(str(record["date"])) if record.get("date") else None
    requested = record.get("requested")
    names = [str(n) for n in requested] if isinstance(requested, list) and requested else None
    try:
        outcome = policy.evaluate(policy.case(record["inputs"]), date=date, outputs=names)
    except CaseError as exc:
        return Problem(where, f"决定 {record['decision_id']} 的输入现在不被接受：{exc}")
    now = output_values(outcome)
    diffs = []
    for name in dict.fromkeys([*record["outputs"], *now]):
        before, after = record["outputs"].get(name), now.get(name)
        if before != after:
            diffs.append(Difference(str(record["decision_id"]), str(record["policy"]), str(record["version"]),
                                    policy.version, name, before, after))
    return diffs


def replay(paths: Iterable[str], registry: Any) -> tuple[int, list[Difference], list[Problem]]:
    """Every decision of the logs replayed: (decisions read, differences, problems)."""
    count = 0
    differences: list[Difference] = []
    problems: list[Problem] = []
    for path in paths:
        for number, item in read_log(path):
            if isinstance(item, Problem):
                problems.append(item)
                continue
            found = replay_record(item, f"{path}:{number}", registry)
            if found is None:
                continue
            count += 1
            if isinstance(found, Problem):
                problems.append(found)
            else:
                differences.extend(found)
    return count, differences, problems
