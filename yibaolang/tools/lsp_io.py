"""The language server's stdio edge: LSP framing that survives a hostile or broken client.

pygls reads `Content-Length` frames with a pattern that accepts only the
exact header and trusts the length it gives: a malformed header makes it lose
its place in the stream for good, and `Content-Length: 1000000000000` makes it
allocate that much.  `Framer` reads the same frames with bounds: a header
block of at most MAX_HEADER_BYTES, a body of at most MAX_MESSAGE_BYTES, and
after any malformed frame it skips to the next `Content-Length:` and goes on.
What it hands over is passed to pygls's own protocol (`serve`), so everything
past the framing is pygls's; what the protocol cannot take (a body that is not
JSON, params that do not fit the method) is answered with a JSON-RPC error
instead of silence, and no error carries a Python traceback (docs/editor.md).

>>> chunks = [b"Content-Length: abc\\r\\n\\r\\n{}", b"Content-Length: 2\\r\\n\\r\\n{}"]
>>> framer = Framer(lambda n: chunks.pop(0) if chunks else b"")
>>> framer.next(), framer.next(), framer.next()
(Rejected(reason='消息头中的 Content-Length 不是合法的长度：abc'), b'{}', None)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import attrs

log = logging.getLogger("yibaolang.tools.lsp")

# A document is at most 2 MiB (source.MAX_SOURCE_BYTES); escaped as JSON it can take six bytes a character.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
MAX_HEADER_BYTES = 8 * 1024
READ_BYTES = 64 * 1024

_HEADER = b"Content-Length:"
_DIGITS = re.compile(rb"[0-9]+")
_NEXT_FRAME = re.compile(rb"Content-Length:[ \t]*[0-9]{1,12}\r\n(?:[!-~][^\r\n]{0,200}\r\n){0,8}\r\n")

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32602, -32603
INTERNAL_MESSAGE = "易保语语言服务器内部错误（详情已记入服务器日志）"


@attrs.frozen
class Rejected:
    """A frame that was not read as a message, and why (sent to the client as a JSON-RPC error)."""

    reason: str


class Framer:
    """LSP frames from `read(n)` (up to n bytes; b"" at the end of the stream)."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self.read = read
        self.buffer = bytearray()
        self.ended = False
        self.skipping = False  # after a malformed frame: drop bytes up to the next header

    def _fill(self) -> bool:
        if self.ended:
            return False
        data = self.read(READ_BYTES)
        if not data:
            self.ended = True
            return False
        self.buffer += data
        return True

    def _skip(self) -> bool:
        """Drop bytes up to the next `Content-Length:`; False at the end of the stream."""
        while True:
            at = self.buffer.find(_HEADER)
            if at >= 0:
                del self.buffer[:at]
                self.skipping = False
                return True
            # Keep a tail that could be the start of a header split across reads.
            del self.buffer[:max(len(self.buffer) - len(_HEADER) + 1, 0)]
            if not self._fill():
                return False

    def next(self) -> bytes | Rejected | None:
        """The next message body, a Rejected frame, or None at the end of the stream."""
        if self.skipping and not self._skip():
            return None
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buffer) > MAX_HEADER_BYTES:
                return self._reject("消息头过长或缺少结尾的空行")
            if not self._fill():
                return None
        header = bytes(self.buffer[:end])
        start = header.find(_HEADER)
        if start > 0:
            # Bytes before the header: the rest of a body whose length was wrong, or a body without a header.
            del self.buffer[:start]
            return Rejected("收到的内容不是以 Content-Length 开头的消息")
        length = _content_length(header) if start == 0 else Rejected("消息头中没有 Content-Length")
        del self.buffer[:end + 4]
        if isinstance(length, Rejected):
            self.skipping = True
            return length
        scanned = 0
        while len(self.buffer) < length:
            # A client that announced more than it sent and went on with the next message: do not wait
            # for bytes that will never come, and do not swallow that message.
            found = _NEXT_FRAME.search(self.buffer, max(scanned - 64, 0))
            if found is not None:
                del self.buffer[:found.start()]
                return Rejected("Content-Length 比消息的实际长度大")
            scanned = len(self.buffer)
            if not self._fill():
                return None
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return body

    def reject_body(self, body: bytes) -> None:
        """`body` was not a message: if it swallowed the start of the next frame, give that back."""
        at = body.find(_HEADER)
        if at >= 0:
            self.buffer[:0] = body[at:]
        self.skipping = True

    def _reject(self, reason: str) -> Rejected:
        self.skipping = True
        if self.buffer.startswith(_HEADER):
            del self.buffer[:len(_HEADER)]  # this header is the bad one: look for the next
        return Rejected(reason)


def _content_length(header: bytes) -> int | Rejected:
    value: bytes | None = None
    for line in header.split(b"\r\n"):
        name, colon, rest = line.partition(b":")
        if colon and name.strip().lower() == b"content-length":
            value = rest.strip()
    if value is None:
        return Rejected("消息头中没有 Content-Length")
    if not _DIGITS.fullmatch(value):
        shown = value[:20].decode("utf-8", "replace")
        return Rejected(f"消息头中的 Content-Length 不是合法的长度：{shown}")
    if len(value) > 12 or int(value) > MAX_MESSAGE_BYTES:
        return Rejected(f"消息过大：{value[:20].decode()} 字节，上限 {MAX_MESSAGE_BYTES} 字节")
    length = int(value)
    if length == 0:
        return Rejected("消息内容为空")
    return length


# ------------------------------------------------------------------ dispatch


def dispatch(protocol: Any, frame: tuple[str, Any] | Rejected) -> None:
    """Hand one message (already read as JSON) to pygls's protocol, answering what it would drop in silence."""
    if isinstance(frame, Rejected):
        reply_error(protocol, None, PARSE_ERROR, frame.reason)
        return
    raw = frame[1]
    msg_id = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or raw.get("jsonrpc") != "2.0":
        reply_error(protocol, msg_id, INVALID_REQUEST, "不是 JSON-RPC 2.0 消息")
        return
    try:
        message = protocol.structure_message(raw)
    except Exception:  # pygls could not give the params the method's type
        method = str(raw.get("method"))[:80]
        if msg_id is not None and "method" in raw:
            reply_error(protocol, msg_id, INVALID_PARAMS, f"请求参数无效（{method}）：不符合协议规定的格式")
        else:
            log.warning("ignoring a message with invalid content: %s", method)
        return
    try:
        protocol.handle_message(message)
    except Exception:
        log.exception("handling a message failed")
        if msg_id is not None and "method" in raw:
            reply_error(protocol, msg_id, INTERNAL_ERROR, INTERNAL_MESSAGE)


def reply_error(protocol: Any, msg_id: Any, code: int, message: str) -> None:
    if not isinstance(msg_id, (int, str)) or isinstance(msg_id, bool):
        msg_id = None
    # A plain object: JSON-RPC wants `"id": null` when the id is unknown, which lsprotocol would leave out.
    protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})


def clean_error(error: Any) -> Any:
    """A response error without a Python traceback: internal errors get one plain Chinese message."""
    from lsprotocol.types import ResponseError

    if error is None:
        return None
    if error.code == INTERNAL_ERROR or error.data is not None:
        message = INTERNAL_MESSAGE if error.code == INTERNAL_ERROR else error.message
        return ResponseError(code=error.code, message=message)
    return error
