"""`yibaolang serve` end to end: a real server on a loopback port, HTTP from the test (docs/serve.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_serve_helpers import CASE, Server, cli, policy_folder, serving

ID = "tianjin_daibing"


def without_ids(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("version", "decision_id")}


# ------------------------------------------------------------------ the API


def test_health_and_policy_ids(server: Server) -> None:
    assert server.client.get("/v1/health").json() == {"status": "ok"}
    policies = server.client.get("/v1/policies").json()["policies"]
    ids = [p["id"] for p in policies]
    assert ids == ["sub/示例", ID]
    same = {p["version"] for p in policies}
    assert len(same) == 1 and len(same.pop()) == 16  # the same content has the same version hash
    assert policies[1]["文号"] == "津政发〔2016〕17号"


def test_policy_detail_lists_inputs_outputs_clauses(server: Server) -> None:
    doc = server.client.get(f"/v1/policies/{ID}").json()
    inputs = {i["name"]: i for i in doc["inputs"]}
    assert inputs["参保类别"]["options"] == ["职工", "居民"]
    assert inputs["大病个人负担"]["unit"] == "元" and inputs["大病个人负担"]["range"] == {"low": "0.00",
                                                                                   "high": "100000000.00"}
    assert inputs["全额补助人员类别"]["default"] == "无" and not inputs["全额补助人员类别"]["required"]
    assert "大病保险报销" in [o["name"] for o in doc["outputs"]]
    assert doc["clauses"][0]["id"] == "二、(五)" and "大病保险" in doc["clauses"][0]["原文"]
    assert doc["diagnostics"] == [] or all(d["severity"] != "error" for d in doc["diagnostics"])


def test_run_is_the_cli_document(server: Server, project: Path) -> None:
    answer = server.post(f"/v1/policies/{ID}/run", {"case": CASE})
    assert answer.status_code == 200
    doc = answer.json()
    printed = cli(project, "run", "policies/tianjin_daibing.ybl", "--case", "case.yaml", "--format", "json")
    assert printed.returncode == 0, printed.stderr
    assert without_ids(doc) == json.loads(printed.stdout)
    assert doc["outputs"]["大病保险报销"]["value"] == "70000.00"
    assert doc["version"] == server.client.get(f"/v1/policies/{ID}").json()["version"]
    assert len(doc["decision_id"]) == 32


def test_run_date_and_outputs(server: Server) -> None:
    case = {k: v for k, v in CASE.items() if k != "计算日期"}
    doc = server.post(f"/v1/policies/{ID}/run", {"case": case, "date": "2018-06-01", "outputs": ["药店报销比例"]}).json()
    assert doc["date"] == "2018-06-01" and list(doc["outputs"]) == ["药店报销比例"]


@pytest.mark.parametrize("fmt", ["json", "markdown", "html"])
def test_explain_is_the_cli_explanation(server: Server, project: Path, fmt: str) -> None:
    answer = server.post(f"/v1/policies/{ID}/explain", {"case": CASE, "format": fmt})
    assert answer.status_code == 200
    printed = cli(project, "explain", "policies/tianjin_daibing.ybl", "--case", "case.yaml", "--format", fmt)
    assert printed.returncode == 0, printed.stderr
    if fmt == "json":
        doc = answer.json()
        assert doc["schema"] == "yibaolang.explain/1"
        assert without_ids(doc) == json.loads(printed.stdout)
    else:
        assert answer.text == printed.stdout
        assert answer.headers["x-yibaolang-version"] and answer.headers["x-decision-id"]


def test_explain_what_if(server: Server) -> None:
    doc = server.post(f"/v1/policies/{ID}/explain", {"case": CASE, "what_if": {"门诊费用": "5000元"}}).json()
    changes = {c["name"]: (c["before"], c["after"]) for c in doc["what_if"]["changes"]}
    assert changes["居民门诊报销"] == ("3000.00", "2250.00")


def test_check_is_the_cli_document(server: Server, project: Path) -> None:
    source = "政策 示例\n输入 费用 : 金额\n定义 报销 : 金额 = 费用 + 1年\n"
    (project / "x.ybl").write_text(source, encoding="utf-8")
    doc = server.post("/v1/check", {"source": source, "filename": "x.ybl"}).json()
    printed = json.loads(cli(project, "check", "x.ybl", "--format", "json").stdout)
    assert doc == printed and doc["diagnostics"][0]["code"] == "YB201"


# ------------------------------------------------------------------ refusals


def codes(answer: httpx.Response) -> list[str]:
    doc = answer.json()
    assert doc["schema"] == "yibaolang.error/1"
    return [d["code"] for d in doc["diagnostics"]]


@pytest.mark.parametrize("case, code", [
    ({**CASE, "门诊费": "1元"}, "YB402"),              # unknown input
    ({**CASE, "门诊费用": "8000年"}, "YB403"),          # wrong unit
    ({k: v for k, v in CASE.items() if k != "大病个人负担"}, "YB410"),  # missing input
    ({**CASE, "参保类别": "农民"}, "YB404"),             # not an option
    ({**CASE, "大病个人负担": "2亿元"}, "YB406"),         # out of range
    ({**CASE, "门诊费用": 8000.5}, None),               # a JSON number is read exactly, not refused
])
def test_a_case_the_policy_rejects_is_422(server: Server, case: dict[str, Any], code: str | None) -> None:
    answer = server.post(f"/v1/policies/{ID}/run", {"case": case})
    if code is None:
        assert answer.status_code == 200
        return
    assert answer.status_code == 422
    assert code in codes(answer)
    assert len(answer.headers["x-yibaolang-version"]) == 16  # the version that refused it
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in d["message"]) for d in answer.json()["diagnostics"])


def test_a_broken_assertion_is_422(project: Path) -> None:
    folder = project / "asserting"
    folder.mkdir(exist_ok=True)
    (folder / "a.ybl").write_text('政策 断言示例\n输入 费用 : 金额\n定义 报销 : 金额 = 费用\n'
                                  '断言 报销 不超过 100元 "报销最多100元"\n', encoding="utf-8")
    with serving(project, "asserting", "--reload-interval", "0") as running:
        answer = running.post("/v1/policies/a/run", {"case": {"费用": "500元"}})
        assert answer.status_code == 422 and codes(answer) == ["YB415"]
        assert running.post("/v1/policies/a/run", {"case": {"费用": "50元"}}).status_code == 200


@pytest.mark.parametrize("body, status, code", [
    (b'{"case": ', 400, "YB450"),
    (b"[1, 2]", 400, "YB450"),
    (b'{"case": {"a": NaN}}', 400, "YB450"),
    (b'{"case": {}, "case": {}}', 400, "YB450"),
    (b"\xff\xfe", 400, "YB450"),
    (b'{"case": [1]}', 422, "YB453"),
    (b'{"case": {}, "extra": 1}', 422, "YB453"),
    (b'{"case": {}, "date": "2017-02-30"}', 422, "YB453"),
    (b'{"case": {}, "outputs": "x"}', 422, "YB453"),
    (b'{"case": {"x": ' + b"[" * 100 + b"]" * 100 + b"}}", 400, "YB450"),
])
def test_malformed_requests(server: Server, body: bytes, status: int, code: str) -> None:
    answer = server.client.post(f"/v1/policies/{ID}/run", content=body)
    assert answer.status_code == status and codes(answer) == [code]


def test_unknown_policy_route_method_and_size(server: Server) -> None:
    assert codes(server.post("/v1/policies/无此政策/run", {"case": {}})) == ["YB452"]
    assert server.post("/v1/policies/无此政策/run", {"case": {}}).status_code == 404
    assert server.client.get("/v1/无此地址").status_code == 404
    wrong = server.client.get(f"/v1/policies/{ID}/run")
    assert wrong.status_code == 405 and codes(wrong) == ["YB455"]
    big = server.client.post(f"/v1/policies/{ID}/run", content=b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert big.status_code == 413 and codes(big) == ["YB451"]


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8)
                           | st.decimals(allow_nan=False, places=2).map(str),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=3), max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["case", "date", "outputs", "format", "what_if", "x"]), json_values,
                            max_size=4) | st.binary(max_size=40).map(lambda b: {"raw": b.hex()}),
       endpoint=st.sampled_from(["run", "explain"]))
def test_nothing_a_client_sends_is_a_500(server: Server, body: dict[str, Any], endpoint: str) -> None:
    answer = server.post(f"/v1/policies/{ID}/{endpoint}", body)
    assert answer.status_code in (200, 400, 413, 422)
    if answer.status_code != 200:
        assert answer.json()["schema"] == "yibaolang.error/1"


# ------------------------------------------------------------------ OpenAPI and the docs page


def test_openapi_schemas_are_real(server: Server) -> None:
    spec = server.client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    run = spec["paths"]["/v1/policies/{id}/run"]["post"]
    assert run["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RunRequest"}
    schemas = spec["components"]["schemas"]
    doc = server.post(f"/v1/policies/{ID}/run", {"case": CASE}).json()
    assert set(schemas["Run"]["required"]) <= set(doc)
    assert set(doc) <= set(schemas["Run"]["properties"])
    case = schemas[f"Case.{ID}"]
    assert case["properties"]["参保类别"]["enum"] == ["职工", "居民"] and "大病个人负担" in case["required"]
    for name, schema in schemas.items():
        assert schema != {"type": "object"}, name
    page = server.client.get("/docs")
    assert page.status_code == 200 and "POST /v1/policies/{id}/run" in page.text


# ------------------------------------------------------------------ the decision log


def test_decision_log_has_one_line_per_answered_decision(server: Server, project: Path) -> None:
    log = project / "decisions.jsonl"
    before = log.read_text("utf-8").splitlines()
    ids = [server.post(f"/v1/policies/{ID}/run", {"case": CASE}).json()["decision_id"] for _ in range(3)]
    ids.append(server.post(f"/v1/policies/{ID}/explain", {"case": CASE}).json()["decision_id"])
    server.post(f"/v1/policies/{ID}/run", {"case": {"x": 1}})  # refused: not a decision
    lines = [json.loads(line) for line in log.read_text("utf-8").splitlines()[len(before):]]
    assert [r["decision_id"] for r in lines] == ids
    record = lines[0]
    assert record["policy"] == ID and record["date"] == "2017-03-01" and len(record["version"]) == 16
    assert record["inputs"]["大病个人负担"] == "150000.00" and record["outputs"]["大病保险报销"] == "70000.00"
    assert lines[-1]["endpoint"] == "explain" and lines[-1]["outputs"] == record["outputs"]


def test_decision_log_rotates_by_size(tmp_path: Path) -> None:
    policy_folder(tmp_path)
    with serving(tmp_path, "policies", "--decision-log", "d.jsonl", "--log-max-size", "2K", "--log-backups", "2",
                 "--reload-interval", "0") as running:
        ids = {running.post(f"/v1/policies/{ID}/run", {"case": CASE}).json()["decision_id"] for _ in range(12)}
    files = [tmp_path / "d.jsonl", tmp_path / "d.jsonl.1", tmp_path / "d.jsonl.2"]
    assert all(f.exists() for f in files) and not (tmp_path / "d.jsonl.3").exists()
    assert all(f.stat().st_size <= 2048 for f in files)
    kept = [json.loads(line)["decision_id"] for f in files for line in f.read_text("utf-8").splitlines()]
    assert set(kept) <= ids and len(kept) == len(set(kept)) >= 4


def test_replay_reports_changed_outputs_with_both_values(tmp_path: Path) -> None:
    folder = policy_folder(tmp_path)
    with serving(tmp_path, "policies", "--decision-log", "d.jsonl", "--reload-interval", "0") as running:
        for outpatient in ("8000元", "600元"):
            assert running.post(f"/v1/policies/{ID}/run", {"case": {**CASE, "门诊费用": outpatient}}).status_code == 200
    same = cli(tmp_path, "replay", "d.jsonl", "policies")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "重算 2 个决定：0 个结果不同" in same.stdout
    path = folder / "tianjin_daibing.ybl"
    path.write_text(path.read_text("utf-8").replace("参数 居民门诊起付标准 : 金额 = 500元",
                                                     "参数 居民门诊起付标准 : 金额 = 800元"), encoding="utf-8")
    changed = cli(tmp_path, "replay", "d.jsonl", "policies")
    assert changed.returncode == 1
    # 8000元: (8000−800)×50% = 3600 still capped at 3000, unchanged; 600元: 50.00 then, 0.00 now.
    assert "居民门诊报销 记录为 50.00，现在为 0.00" in changed.stdout
    assert "重算 2 个决定：1 个结果不同" in changed.stdout
    as_json = json.loads(cli(tmp_path, "replay", "d.jsonl", "policies", "--format", "json").stdout)
    assert as_json["differences"][0]["logged"] == "50.00" and as_json["differences"][0]["now"] == "0.00"


def test_replay_of_a_damaged_log_says_where(tmp_path: Path) -> None:
    policy_folder(tmp_path)
    (tmp_path / "d.jsonl").write_text('{"type": "decision"}\nnot json\n', encoding="utf-8")
    result = cli(tmp_path, "replay", "d.jsonl", "policies")
    assert result.returncode == 1
    assert "d.jsonl:1: 决定记录缺少字段" in result.stderr and "d.jsonl:2: 这一行不是有效的 JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_shadow_logs_differences_of_the_candidate(tmp_path: Path) -> None:
    policy_folder(tmp_path)
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    text = (tmp_path / "policies" / "tianjin_daibing.ybl").read_text("utf-8")
    (candidate / "tianjin_daibing.ybl").write_text(text.replace("最高支付标准3000", "最高支付标准3500").replace(
        "参数 居民门诊最高支付标准 : 金额 = 3000元", "参数 居民门诊最高支付标准 : 金额 = 3500元"), encoding="utf-8")
    with serving(tmp_path, "policies", "--shadow", "candidate", "--decision-log", "d.jsonl",
                 "--reload-interval", "0") as running:
        answer = running.post(f"/v1/policies/{ID}/run", {"case": CASE}).json()
        assert answer["outputs"]["居民门诊报销"]["value"] == "3000.00"  # the live answer is the current policy's
        small = running.post(f"/v1/policies/{ID}/run", {"case": {**CASE, "门诊费用": "600元"}}).json()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "shadow" not in (tmp_path / "d.jsonl").read_text("utf-8"):
            time.sleep(0.1)
    records = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text("utf-8").splitlines()]
    shadows = [r for r in records if r["type"] == "shadow"]
    assert [s["decision_id"] for s in shadows] == [answer["decision_id"]]  # the 600元 case does not differ
    assert shadows[0]["differences"] == {"居民门诊报销": {"current": "3000.00", "candidate": "3500.00"}}
    assert shadows[0]["candidate_version"] != shadows[0]["version"]
    assert small["decision_id"] in {r["decision_id"] for r in records if r["type"] == "decision"}


# ------------------------------------------------------------------ hot reload


def wait_for(check: Any, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_hot_reload_keeps_the_last_good_version(tmp_path: Path) -> None:
    folder = policy_folder(tmp_path)
    path = folder / "tianjin_daibing.ybl"
    good = path.read_text("utf-8")
    with serving(tmp_path, "policies", "--reload-interval", "0.2") as running:
        first = running.client.get(f"/v1/policies/{ID}").json()["version"]
        path.write_text(good.replace("定义 大病保险报销 : 金额 =", "定义 大病保险报销 : 金额 = 未定义的名字 +"), encoding="utf-8")
        detail = wait_for(lambda: (d := running.client.get(f"/v1/policies/{ID}").json())["diagnostics"]
                          and any(x["severity"] == "error" for x in d["diagnostics"]) and d)
        assert detail and detail["version"] == first and detail["stale"]
        answer = running.post(f"/v1/policies/{ID}/run", {"case": CASE}).json()
        assert answer["version"] == first and answer["outputs"]["大病保险报销"]["value"] == "70000.00"
        path.write_text(good.replace("2万元 至 10万元(含)  按 50%", "2万元 至 10万元(含)  按 55%"), encoding="utf-8")
        fixed = wait_for(lambda: (v := running.client.get(f"/v1/policies/{ID}").json()["version"]) != first and v)
        assert fixed
        answer = running.post(f"/v1/policies/{ID}/run", {"case": CASE}).json()
        assert answer["version"] == fixed and answer["outputs"]["大病保险报销"]["value"] == "74000.00"
        assert not running.client.get(f"/v1/policies/{ID}").json()["stale"]
        (folder / "新政策.ybl").write_text("政策 新\n输入 费用 : 金额\n定义 报销 : 金额 = 费用\n", encoding="utf-8")
        assert wait_for(lambda: "新政策" in [p["id"] for p in running.client.get("/v1/policies").json()["policies"]])


# ------------------------------------------------------------------ docs/serve.md


def test_the_examples_of_docs_serve_run_against_a_real_server(tmp_path: Path) -> None:
    """Each ```python block of docs/serve.md, in order, against a server holding the example policy."""
    from tests.test_api import ROOT, checked, python_blocks

    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "tianjin_daibing.ybl").write_text((ROOT / "examples" / "tianjin_daibing.ybl").read_text("utf-8"),
                                                encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    failures: list[str] = []

    def expect(expected: str, *values: Any) -> None:
        got = " ".join(str(v) for v in values)
        if got != expected:
            failures.append(f"printed {got!r}, docs/serve.md says {expected!r}")

    total = 0
    with serving(tmp_path, "policies", "--reload-interval", "0") as running:
        namespace: dict[str, Any] = {"BASE": running.base, "__expect": expect}
        for line, source in python_blocks(ROOT / "docs" / "serve.md"):
            code, count = checked(source)
            total += count
            exec(compile(code, f"docs/serve.md:{line}", "exec"), namespace)
        namespace["http"].close()
    assert failures == []
    assert total >= 15


def test_evaluation_is_bounded_in_time() -> None:
    """The worker thread runs past the limit: the answer is a 503 with YB454, not a hung request."""
    import anyio

    from yibaolang.tools.serve.app import Service, Settings
    from yibaolang.tools.serve.errors import Refusal

    service = Service(Settings([], timeout=0.2, reload_interval=0))
    started = time.monotonic()
    with pytest.raises(Refusal) as caught:
        anyio.run(service.bounded, lambda: time.sleep(3))
    assert time.monotonic() - started < 2.5
    assert caught.value.status == 503 and caught.value.diagnostics[0].code == "YB454"
    assert anyio.run(service.bounded, lambda: 42) == 42


def test_a_policy_broken_from_the_start_is_listed_not_served(tmp_path: Path) -> None:
    folder = policy_folder(tmp_path)
    (folder / "坏.ybl").write_text("政策 坏\n输入 费用 : 金额\n定义 报销 : 金额 = 费用 + 1年\n", encoding="utf-8")
    with serving(tmp_path, "policies", "--reload-interval", "0") as running:
        listed = {p["id"]: p for p in running.client.get("/v1/policies").json()["policies"]}
        assert listed["坏"]["version"] is None and listed["坏"]["errors"] == 1 and not listed["坏"]["stale"]
        detail = running.client.get("/v1/policies/坏").json()
        assert [d["code"] for d in detail["diagnostics"]] == ["YB201"] and detail["inputs"] == []
        answer = running.post("/v1/policies/坏/run", {"case": {"费用": "1元"}})
        assert answer.status_code == 503 and codes(answer) == ["YB201"]
        assert running.post(f"/v1/policies/{ID}/run", {"case": CASE}).status_code == 200


def test_a_busy_port_is_said_in_chinese(server: Server, project: Path) -> None:
    result = cli(project, "serve", "policies", "--port", str(server.port))
    assert result.returncode == 1
    assert f"无法在 127.0.0.1:{server.port} 上监听：端口已被占用" in result.stderr and "Traceback" not in result.stderr


def test_a_decision_the_log_cannot_hold_is_not_answered(tmp_path: Path) -> None:
    """A full disk under the decision log: the decision is refused (503, YB457), never answered unlogged."""
    import anyio

    from yibaolang.tools.serve.app import Service, Settings
    from yibaolang.tools.serve.decisions import Decision
    from yibaolang.tools.serve.errors import Refusal
    from yibaolang.tools.serve.requests import CaseRequest

    class Full:
        """The log file on a disk that has just filled up."""

        def __init__(self, real: Any) -> None:
            self.real = real

        def fileno(self) -> int:
            return int(self.real.fileno())

        def write(self, text: str) -> None:
            raise OSError(28, "No space left on device")

    service = Service(Settings([str(policy_folder(tmp_path))], decision_log=str(tmp_path / "d.jsonl"),
                               reload_interval=0))
    service.start()
    assert service.log is not None
    real = service.log._file
    service.log._file = Full(real)  # type: ignore[assignment]
    try:
        entry = service.registry.get(ID)
        assert entry is not None and entry.policy is not None
        policy = entry.policy
        decision = Decision(entry, policy, policy.case(CASE), policy.evaluate(CASE), CaseRequest(CASE, None, None), "x")
        with pytest.raises(Refusal) as caught:
            anyio.run(service.bounded, lambda: service.record(decision, "run"))
    finally:
        service.log._file = real
        service.stop()
    assert caught.value.status == 503 and caught.value.diagnostics[0].code == "YB457"
    assert "磁盘空间不足" in caught.value.diagnostics[0].message


def test_a_log_that_cannot_be_opened_is_said_before_serving(tmp_path: Path) -> None:
    policy_folder(tmp_path)
    result = cli(tmp_path, "serve", "policies", "--decision-log", "无此文件夹/d.jsonl", "--port", "0")
    assert result.returncode == 1
    assert "无法打开决定日志 无此文件夹/d.jsonl：所在的文件夹不存在" in result.stderr and "Traceback" not in result.stderr


def test_worker_processes_share_one_decision_log(tmp_path: Path) -> None:
    """serve --workers 2: every answered decision is one line, across processes and across a rotation."""
    from concurrent.futures import ThreadPoolExecutor

    policy_folder(tmp_path)
    with serving(tmp_path, "policies", "--workers", "2", "--decision-log", "d.jsonl", "--log-max-size", "8K",
                 "--log-backups", "50", "--reload-interval", "0") as running:

        def one(_: int) -> str:
            with httpx.Client(base_url=running.base, timeout=30) as http:
                answer = http.post(f"/v1/policies/{ID}/run", json={"case": CASE})
                assert answer.status_code == 200
                return str(answer.json()["decision_id"])

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(one, range(60)))
    files = sorted(tmp_path.glob("d.jsonl*"))
    lines = [line for f in files if not f.name.endswith(".lock") for line in f.read_text("utf-8").splitlines()]
    assert sorted(json.loads(line)["decision_id"] for line in lines) == sorted(ids)
    assert len([f for f in files if not f.name.endswith(".lock")]) > 2  # it did rotate
