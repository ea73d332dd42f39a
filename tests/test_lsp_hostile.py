"""The language server against a broken or hostile client (issues 11 and 18).

Raw bytes are written to `yibaolang lsp`'s stdin, so the framing itself can be
wrong; a slow document is driven through pygls's own client (test_lsp.Harness).
Every wait is bounded: a server that stops answering fails the test.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lsprotocol.types as lsp
import pytest
from pygls.uris import from_fs_path

from tests.test_lsp import Harness
from yibaolang.tools.lsp_io import MAX_MESSAGE_BYTES, Framer, Rejected, clean_error

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 20.0


class RawClient:
    """`yibaolang lsp` with its stdin and stdout as bytes; messages from it are read on a thread."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None, stderr: Any = subprocess.DEVNULL) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "yibaolang", "lsp"], cwd=folder, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, **(env or {})})
        self.messages: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        stream = self.process.stdout
        framer = Framer(stream.read1)
        while True:
            body = framer.next()
            if body is None:
                return
            assert isinstance(body, bytes), body  # the server's own framing is never wrong
            self.messages.put(json.loads(body))

    def send_bytes(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any], length: str | None = None) -> None:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        self.send_bytes(b"Content-Length: %s\r\n\r\n" % (length or str(len(body))).encode() + body)

    def request(self, msg_id: int, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, match: Any, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The first message (seen before or arriving now) for which `match(message)` holds."""
        for message in self.seen:
            if match(message):
                self.seen.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such message within {timeout} s; got {self.seen}")
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if match(message):
                return message
            self.seen.append(message)

    def response(self, msg_id: int | None, timeout: float = TIMEOUT) -> dict[str, Any]:
        return self.wait(lambda m: "method" not in m and m.get("id", "absent") == msg_id, timeout)

    def close(self) -> None:
        try:
            self.request(999_999, "shutdown", None)
            self.response(999_999, timeout=5)
            self.notify("exit", None)
            self.process.wait(timeout=5)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = tmp_path_factory.mktemp("hostile")
    (found / "yibaolang.toml").write_text("", "utf-8")
    return found


@pytest.fixture(scope="module")
def raw(folder: Path) -> Iterator[RawClient]:
    client = RawClient(folder)
    client.request(1, "initialize", {"processId": os.getpid(), "rootUri": from_fs_path(str(folder)),
                                     "capabilities": {}})
    assert "capabilities" in client.response(1)["result"]
    client.notify("initialized", {})
    try:
        yield client
    finally:
        client.close()


def uri_of(folder: Path, name: str) -> str:
    return str(from_fs_path(str(folder / name)))


def hover(client: RawClient, msg_id: int, uri: str, line: int = 0, character: int = 0) -> None:
    client.request(msg_id, "textDocument/hover",
                   {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})


BODY = json.dumps({"jsonrpc": "2.0", "method": "$/ping"}).encode()
BAD_FRAMES = {
    "letters": b"Content-Length: abc\r\n\r\n" + BODY,
    "negative": b"Content-Length: -5\r\n\r\n" + BODY,
    "missing": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + BODY,
    "too small": b"Content-Length: %d\r\n\r\n" % (len(BODY) - 7) + BODY,
    "larger than the body": b"Content-Length: %d\r\n\r\n" % (len(BODY) + 400) + BODY,
    "a terabyte": b"Content-Length: 1000000000000\r\n\r\n" + BODY,
    "over the bound": b"Content-Length: %d\r\n\r\n" % (MAX_MESSAGE_BYTES + 1) + BODY,
    "not JSON": b"Content-Length: 9\r\n\r\n{not json",
    "no header at all": BODY,
}


@pytest.mark.parametrize("name", list(BAD_FRAMES))
def test_a_malformed_frame_is_rejected_and_the_next_request_answered(raw: RawClient, folder: Path,
                                                                      name: str) -> None:
    msg_id = 100 + list(BAD_FRAMES).index(name)
    raw.send_bytes(BAD_FRAMES[name])
    hover(raw, msg_id, uri_of(folder, "无.ybl"))
    rejected = raw.response(None)
    assert rejected["error"]["code"] == -32700
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rejected["error"]["message"])  # said in Chinese
    assert raw.response(msg_id) == {"jsonrpc": "2.0", "id": msg_id, "result": None}
    assert raw.process.poll() is None


def test_framer_reads_frames_split_anywhere() -> None:
    good = b'{"jsonrpc":"2.0","id":1}'
    stream = BAD_FRAMES["letters"] + b"Content-Length: %d\r\n\r\n" % len(good) + good
    for size in (1, 2, 5, 64):
        chunks = [stream[i:i + size] for i in range(0, len(stream), size)]
        framer = Framer(lambda n, chunks=chunks: chunks.pop(0) if chunks else b"")
        frames = []
        while (frame := framer.next()) is not None:
            frames.append(frame)
        assert frames[-1] == good and isinstance(frames[0], Rejected), (size, frames)


def test_a_document_that_is_not_open_is_never_read(raw: RawClient) -> None:
    rss_before = _rss(raw.process.pid)
    for msg_id, uri in enumerate(("file:///dev/zero", "file:///dev/urandom", "file:///proc/self/mem"), 200):
        hover(raw, msg_id, uri)
        assert raw.response(msg_id, timeout=5)["result"] is None
    raw.request(210, "textDocument/documentSymbol", {"textDocument": {"uri": "file:///dev/zero"}})
    assert raw.response(210, timeout=5)["result"] is None
    assert _rss(raw.process.pid) < rss_before + 50 * 1024 * 1024


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("params", [
    {"textDocument": {"uri": "file:///x.ybl"}, "position": {"line": -1, "character": 0}},
    {"textDocument": {"uri": "file:///x.ybl"}, "position": {"line": 0, "character": -3}},
    {"textDocument": {}, "position": {"line": 0, "character": 0}},
    {"position": {"line": 0, "character": 0}},
    "not an object",
], ids=["negative line", "negative character", "no uri", "no document", "a string"])
def test_invalid_params_get_an_error_response(raw: RawClient, params: Any) -> None:
    raw.request(300, "textDocument/hover", params)
    answer = raw.response(300)
    assert answer["error"]["code"] == -32602
    assert "请求参数无效" in answer["error"]["message"]
    assert "data" not in answer["error"] or answer["error"]["data"] is None


def test_not_json_rpc_gets_an_error_response(raw: RawClient) -> None:
    raw.send({"id": 301, "method": "textDocument/hover"})  # no "jsonrpc": "2.0"
    assert raw.response(301)["error"]["code"] == -32600
    raw.send([1, 2, 3])  # type: ignore[arg-type]
    assert raw.response(None)["error"]["code"] == -32600


def test_no_traceback_in_an_error_response() -> None:
    from pygls.exceptions import JsonRpcInternalError

    try:
        raise KeyError("secret internals")
    except KeyError:
        error = JsonRpcInternalError.of(sys.exc_info()).to_response_error()
    assert error.data is not None and "traceback" in error.data  # what pygls would send
    cleaned = clean_error(error)
    assert cleaned.data is None and "secret" not in cleaned.message and "内部错误" in cleaned.message


def test_a_lone_surrogate_is_reported(raw: RawClient, folder: Path) -> None:
    uri = uri_of(folder, "代理.ybl")
    # Written as JSON by hand: "\ud800" is valid JSON and decodes to a lone surrogate.
    text = '输入 甲 : 金额\\n定义 乙 : 金额 = 甲 \\ud800 + 1元\\n'
    body = ('{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":'
            f'{{"uri":"{uri}","languageId":"yibaolang","version":1,"text":"{text}"}}}}}}').encode()
    raw.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    published = raw.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                         and m["params"]["uri"] == uri)
    (found,) = published["params"]["diagnostics"]
    assert found["code"] == "YB002" and "U+D800" in found["message"]
    assert found["range"]["start"] == {"line": 1, "character": 14}


FAST = "输入 费用 : 金额\n定义 报销 : 金额 = 费用 × 50%\n输出 报销\n"


def big_policy(lines: int) -> str:
    spec = importlib.util.spec_from_file_location("gen_policy", ROOT / "benchmarks" / "gen_policy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.generate(lines)
    return text


def test_a_slow_document_does_not_hold_up_the_others(tmp_path: Path) -> None:
    """A budget of half a second: parsing 10,000 lines for the first time takes longer than that."""
    (tmp_path / "yibaolang.toml").write_text("", "utf-8")
    harness = Harness(tmp_path)
    try:
        harness.run(harness.start(env={**os.environ, "YIBAOLANG_LSP_BUDGET": "0.5"}), timeout=30)
        slow_uri = harness.uri("慢.ybl")
        harness.client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
            uri=slow_uri, language_id="yibaolang", version=1, text=big_policy(10_000))))
        started = time.monotonic()
        found = harness.run(harness.open("快.ybl", FAST), timeout=15)
        assert found == [] and time.monotonic() - started < 10
        started = time.monotonic()
        answer = harness.run(harness.client.text_document_hover_async(lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=harness.uri("快.ybl")),
            position=lsp.Position(line=1, character=13))), timeout=10)
        assert "输入 费用 : 金额" in answer.contents.value and time.monotonic() - started < 3
        slow = harness.run(harness.until(slow_uri, lambda found: any(d.code == "YB007" for d in found)),
                           timeout=30)
        (note,) = slow
        assert note.severity == lsp.DiagnosticSeverity.Warning and "0.5 秒" in note.message
    finally:
        try:
            harness.run(harness.stop(), timeout=10)
        finally:
            harness.loop.close()


def test_a_huge_document_is_reported_not_analysed(raw: RawClient, folder: Path) -> None:
    uri = uri_of(folder, "巨.ybl")
    text = "# " + "很" * (1024 * 1024) + "\n"  # 3 MiB of UTF-8: over the 2 MiB a policy file may have
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yibaolang", "version": 1,
                                                         "text": text}})
    published = raw.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                         and m["params"]["uri"] == uri)
    assert [d["code"] for d in published["params"]["diagnostics"]] == ["YB001"]
    hover(raw, 400, uri)
    assert raw.response(400)["result"] is None


def test_a_burst_of_edits_ends_with_the_last_text(raw: RawClient, folder: Path) -> None:
    uri = uri_of(folder, "连.ybl")
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yibaolang", "version": 1,
                                                         "text": "输入 甲 : 金额\n输出 甲\n"}})
    for version in range(2, 60):
        raw.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": f"输入 甲 : 金额\n定义 乙 : 金额 = 甲 + {version}{'' if version % 2 else '元'}\n输出 乙\n"}]})
    last = raw.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                    and m["params"]["uri"] == uri and m["params"].get("version") == 59)
    assert [d["code"] for d in last["params"]["diagnostics"]] == ["YB201"]  # 甲 + 59: money plus a number
