"""What the service answers when a request cannot be served (docs/serve.md, "错误").

Every refusal is a `yibaolang.error/1` document with Chinese diagnostics:
400 malformed JSON (YB450), 413 a body over the limit (YB451), 404 an unknown
policy (YB452) or address (YB455), 405 a wrong method (YB455), 422 a request or
case the policy rejects (YB453 and the case codes YB4xx), 503 an evaluation
over its time limit (YB454) or a decision the log cannot hold (YB457).  Nothing a client sends produces a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from yibaolang.api import ERROR_SCHEMA
from yibaolang.diagnostics import Diagnostic, error, to_json_obj
from yibaolang.ir import Span

BAD_JSON = "YB450"
TOO_LARGE = "YB451"
NO_POLICY = "YB452"
BAD_REQUEST = "YB453"
TIMEOUT = "YB454"
NO_ROUTE = "YB455"
INTERNAL = "YB456"
LOG_FAILED = "YB457"

REQUEST = "请求"  # the "file" a diagnostic about the request body names


class Refusal(Exception):
    """An answer other than 200: the status and its diagnostics."""

    def __init__(self, status: int, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__(diagnostics[0].message if diagnostics else str(status))
        self.status = status
        self.diagnostics = list(diagnostics)

    def document(self) -> dict[str, Any]:
        return {"schema": ERROR_SCHEMA, "diagnostics": [to_json_obj(d) for d in self.diagnostics]}


def refusal(status: int, code: str, message: str, hint: str = "", line: int = 0, column: int = 0) -> Refusal:
    return Refusal(status, [error(code, Span(REQUEST, line, column, line, column + 1 if line else 0), message, hint)])


def bad_field(message: str, hint: str = "") -> Refusal:
    return refusal(422, BAD_REQUEST, message, hint)
