"""The ASGI application of `yibaolang serve` (docs/serve.md): the /v1 API, the OpenAPI document, the workbench.

Built on Starlette and served by uvicorn.  Every answer about a policy names
its `version`; every evaluation runs in a worker thread under a time limit;
every refusal is a `yibaolang.error/1` document (errors.py).  The handlers call
the Python API (`yibaolang.api`), the same code `yibaolang run` and `explain` run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import attrs
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from yibaolang.api import CaseError, Policy, check_source, run_document
from yibaolang.diagnostics import Diagnostic, to_json_obj
from yibaolang.engines.outcome import Outcome
from yibaolang.tools.serve.decisions import SHADOW, Decision, DecisionLog, decision_record, new_id, output_values
from yibaolang.tools.serve.errors import INTERNAL, LOG_FAILED, NO_POLICY, NO_ROUTE, TIMEOUT, Refusal, refusal
from yibaolang.tools.serve.registry import Entry, Registry, Watcher, policy_detail, policy_summary
from yibaolang.tools.serve.requests import CaseRequest, case_request, check_request, check_size, parse_json, too_large

T = TypeVar("T")
log = logging.getLogger("yibaolang.serve")


@attrs.define
class Settings:
    folders: list[str]
    shadow: list[str] = attrs.Factory(list)
    decision_log: str | None = None
    log_max_bytes: int = 100 * 1024 * 1024
    log_backups: int = 5
    max_body: int = 1024 * 1024
    timeout: float = 10.0        # seconds of evaluation per request
    reload_interval: float = 1.0  # 0: no hot reload
    # --table 目录名=路径 (docs/itemized.md §3): the catalogs' data files, read once at each (re)load
    tables: dict[str, str] = attrs.Factory(dict)


class JSON(Response):
    """Compact UTF-8 JSON (Chinese as is)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Registry(settings.folders, settings.tables)
        self.shadow = Registry(settings.shadow, settings.tables) if settings.shadow else None
        self.log = DecisionLog(settings.decision_log, settings.log_max_bytes, settings.log_backups) \
            if settings.decision_log else None
        self.ready = False
        self.watcher: Watcher | None = None

    def start(self) -> None:
        self.registry.refresh()
        if self.shadow is not None:
            self.shadow.refresh()
        self.ready = True
        if self.settings.reload_interval > 0:
            self.watcher = Watcher([r for r in (self.registry, self.shadow) if r is not None],
                                   self.settings.reload_interval)
            self.watcher.start()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self.log is not None:
            self.log.close()

    # -- the steps of a request

    def entry(self, pid: str) -> Entry:
        entry = self.registry.get(pid)
        if entry is None:
            known = [e.id for e in self.registry]
            from yibaolang.diagnostics import closest

            guess = closest(pid, known)
            raise refusal(404, NO_POLICY, f"找不到政策“{pid[:80]}”",
                          f"是否想写 {guess}？" if guess else "GET /v1/policies 列出所有政策")
        return entry

    def serving(self, entry: Entry, request: Request | None = None) -> Policy:
        if entry.policy is not None and request is not None:
            request.state.version = entry.policy.version
        if entry.policy is None:
            errors = [d for d in entry.diagnostics if d.is_error]
            raise Refusal(503, errors or [refusal(503, NO_POLICY, "政策尚未加载").diagnostics[0]])
        return entry.policy

    async def body(self, request: Request) -> dict[str, Any]:
        return parse_json(await self.raw_body(request))

    async def raw_body(self, request: Request) -> bytes:
        """The body, refused (413) as soon as it passes the limit: a huge body is never held whole."""
        limit = self.settings.max_body
        check_size(request.headers.get("content-length"), limit)
        chunks = bytearray()
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > limit:
                raise too_large(limit)
        return bytes(chunks)

    async def bounded(self, work: Callable[[], T]) -> T:
        """`work` in a worker thread, answered with 503 when it runs past the time limit."""
        try:
            with anyio.fail_after(self.settings.timeout):
                return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except TimeoutError:
            raise refusal(503, TIMEOUT, f"计算超过了时间上限（{self.settings.timeout:g} 秒）",
                          "请核对案例；政策的计算步数另有上限（YB423）") from None

    def decide(self, entry: Entry, policy: Policy, req: CaseRequest) -> Decision:
        """The request's case checked against `policy` (CaseError → 422), not yet evaluated."""
        return Decision(entry, policy, policy.case(req.case), Outcome([], [], None, "", {}), req, new_id())

    def record(self, decision: Decision, endpoint: str) -> None:
        """The decision's line in the log; a decision that cannot be logged is not answered (503)."""
        if self.log is None:
            return
        try:
            self.log.write(decision_record(decision.decision_id, endpoint, decision.entry.id, decision.policy,
                                           decision.case, decision.outcome, decision.request.outputs))
        except OSError as exc:
            from yibaolang.files import os_reason

            log.error("无法写入决定日志 %s：%s", self.log.path, os_reason(exc))
            raise refusal(503, LOG_FAILED, f"无法写入决定日志：{os_reason(exc)}",
                          "决定没有记录，因此没有给出；请服务的管理员检查日志文件所在的磁盘") from None

    def compare_shadow(self, decision: Decision) -> None:
        """The same request against the candidate policy of the same id; a line in the log when outputs differ."""
        if self.shadow is None:
            return
        candidate = self.shadow.get(decision.entry.id)
        record: dict[str, Any] = {"type": SHADOW, "decision_id": decision.decision_id, "policy": decision.entry.id,
                                  "version": decision.policy.version}
        now = output_values(decision.outcome)
        if candidate is None or candidate.policy is None:
            record["candidate"] = None
            record["problem"] = "候选政策中没有这个政策，或它有错误"
        else:
            policy = candidate.policy
            record["candidate_version"] = policy.version
            try:
                outcome = policy.evaluate(policy.case(decision.request.case), date=decision.request.date,
                                          outputs=decision.request.outputs)
                theirs = output_values(outcome)
                problems = [to_json_obj(d) for d in outcome.diagnostics if d.is_error]
            except CaseError as exc:
                theirs, problems = {}, [to_json_obj(d) for d in exc.diagnostics]
            differences = {name: {"current": now.get(name), "candidate": theirs.get(name)}
                           for name in dict.fromkeys([*now, *theirs]) if now.get(name) != theirs.get(name)}
            if not differences and not problems:
                return
            record["differences"] = differences
            if problems:
                record["diagnostics"] = problems
        log.warning("陪跑：决定 %s（政策 %s）的结果与候选政策不同：%s", decision.decision_id, decision.entry.id,
                    json.dumps(record.get("differences", record.get("problem")), ensure_ascii=False))
        if self.log is not None:
            self.log.write(record)


# ------------------------------------------------------------------ handlers


def _version_header(request: Request) -> dict[str, str] | None:
    """A refusal about a case names the version that refused it."""
    version = getattr(request.state, "version", None)
    return {"X-Yibaolang-Version": version} if version else None


def handler(func: Callable[[Service, Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A route whose Refusal and CaseError become their yibaolang.error/1 answers."""

    async def endpoint(request: Request) -> Response:
        service: Service = request.app.state.service
        try:
            return await func(service, request)
        except Refusal as exc:
            return JSON(exc.document(), status_code=exc.status, headers=_version_header(request))
        except CaseError as exc:
            return JSON(exc.document(), status_code=422, headers=_version_header(request))
        except ClientDisconnect:  # nobody is left to read an answer
            return Response(status_code=400)

    endpoint.__name__ = func.__name__
    endpoint.__doc__ = func.__doc__
    return endpoint


@handler
async def health(service: Service, request: Request) -> Response:
    if not service.ready:
        return JSON({"status": "loading"}, status_code=503)
    return JSON({"status": "ok"})


@handler
async def list_policies(service: Service, request: Request) -> Response:
    return JSON({"policies": [policy_summary(e) for e in service.registry]})


@handler
async def get_policy(service: Service, request: Request) -> Response:
    pid = request.path_params["id"]
    head, _, action = pid.rpartition("/")
    if action in ("run", "explain") and service.registry.get(head) is not None:  # GET …/run: the method is wrong
        raise refusal(405, NO_ROUTE, f"/v1/policies/{head[:80]}/{action} 只接受 POST 请求",
                      '请求体写作 {"case": {…}}，见 /docs')
    entry = service.entry(pid)
    return JSON(policy_detail(entry))


@handler
async def run(service: Service, request: Request) -> Response:
    entry = service.entry(request.path_params["id"])
    req = case_request(await service.body(request), explain=False)
    policy = service.serving(entry, request)  # the version now: a reload during the evaluation does not mix two

    def work() -> tuple[Decision, dict[str, Any]]:
        decision = service.decide(entry, policy, req)
        decision.outcome = outcome = decision.policy.evaluate(decision.case, date=req.date, outputs=req.outputs)
        if not outcome.ok:
            raise CaseError([d for d in outcome.diagnostics if d.is_error])
        doc = run_document(decision.policy.program, outcome)
        doc["version"] = decision.policy.version
        doc["decision_id"] = decision.decision_id
        service.record(decision, "run")  # flushed before the answer leaves
        return decision, doc

    decision, doc = await service.bounded(work)
    task = BackgroundTask(service.compare_shadow, decision) if service.shadow is not None else None
    return JSON(doc, headers={"X-Yibaolang-Version": decision.policy.version, "X-Decision-Id": decision.decision_id},
                background=task)


@handler
async def explain(service: Service, request: Request) -> Response:
    entry = service.entry(request.path_params["id"])
    req = case_request(await service.body(request), explain=True)
    policy = service.serving(entry, request)  # the version now: a reload during the evaluation does not mix two

    def work() -> tuple[Decision, Any]:
        from yibaolang.outputs.render import render
        from yibaolang.outputs.render.jsonfmt import explain_document

        decision = service.decide(entry, policy, req)
        exp, decision.outcome = policy.explained(decision.case, date=req.date, outputs=req.outputs,
                                                 what_if=req.what_if, charts=req.format == "html")
        errors = [d for d in exp.diagnostics if d.is_error]
        if errors or not decision.outcome.ok:
            raise CaseError(errors or [d for d in decision.outcome.diagnostics if d.is_error])
        service.record(decision, "explain")
        if req.format == "json":
            doc = explain_document(exp)
            doc["version"] = policy.version
            doc["decision_id"] = decision.decision_id
            return decision, doc
        return decision, render(exp, req.format)

    decision, body = await service.bounded(work)
    task = BackgroundTask(service.compare_shadow, decision) if service.shadow is not None else None
    headers = {"X-Yibaolang-Version": decision.policy.version, "X-Decision-Id": decision.decision_id}
    if isinstance(body, dict):
        return JSON(body, headers=headers, background=task)
    media = {"html": "text/html", "markdown": "text/markdown", "text": "text/plain"}[req.format]
    return Response(body, media_type=f"{media}; charset=utf-8", headers=headers, background=task)


@handler
async def check(service: Service, request: Request) -> Response:
    source, filename = check_request(await service.body(request))
    return JSON(await service.bounded(lambda: check_source(source, filename)))


@handler
async def openapi(service: Service, request: Request) -> Response:
    from yibaolang.tools.serve.openapi import document

    return JSON(document(service))


@handler
async def docs_page(service: Service, request: Request) -> Response:
    from yibaolang.tools.serve.openapi import document
    from yibaolang.tools.serve.workbench import render_page

    return HTMLResponse(render_page("docs.html", spec=document(service)))


# ------------------------------------------------------------------ the application


async def not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    if status == 405:
        return JSON(refusal(405, NO_ROUTE, f"{request.url.path[:80]} 不接受 {request.method} 请求",
                            "见 /docs 列出的地址与方法").document(), status_code=405)
    if status == 413:
        return JSON(too_large(request.app.state.service.settings.max_body).document(),  # type: ignore[attr-defined]
                    status_code=413)
    if status == 400:
        return JSON(refusal(400, NO_ROUTE, "请求无法读取", "").document(), status_code=400)
    return JSON(refusal(404, NO_ROUTE, f"没有这个地址：{request.url.path[:80]}", "见 /docs 列出的地址").document(),
                status_code=404)


async def internal(request: Request, exc: Exception) -> Response:
    log.exception("内部错误", exc_info=exc)
    return JSON(refusal(500, INTERNAL, "服务内部错误：这是 yibaolang 的缺陷，请报告给维护者",
                        "服务器日志中有详细信息").document(), status_code=500)


def create_app(settings: Settings, start: bool = True) -> Starlette:
    """The application; with `start` the policies are loaded now (before the first request)."""
    from contextlib import asynccontextmanager

    from yibaolang.tools.serve import workbench

    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        yield
        service.stop()

    routes = [
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/policies", list_policies, methods=["GET"]),
        Route("/v1/policies/{id:path}/run", run, methods=["POST"]),
        Route("/v1/policies/{id:path}/explain", explain, methods=["POST"]),
        Route("/v1/policies/{id:path}", get_policy, methods=["GET"]),
        Route("/v1/check", check, methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs_page, methods=["GET"]),
        *workbench.routes(handler),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: not_found, Exception: internal})
    app.state.service = service
    if start:
        service.start()
    return app


SETTINGS_VARIABLE = "YIBAOLANG_SERVE_SETTINGS"


def app_from_environment() -> Starlette:
    """The application of one worker process of `serve --workers N` (uvicorn imports it by name)."""
    import os

    return create_app(Settings(**json.loads(os.environ[SETTINGS_VARIABLE])))


__all__ = ["Diagnostic", "Service", "Settings", "app_from_environment", "create_app"]
