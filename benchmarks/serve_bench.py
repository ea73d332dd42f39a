"""Load on `yibaolang serve` over the loopback: requests/s and p50/p99 latency (docs/serve.md, "性能").

Starts the real server (uvicorn, a subprocess) on the example policy with a
decision log, runs N concurrent keep-alive clients (asyncio streams, responses parsed by httptools) for a
bounded time against /run and then /explain (json), and evaluates the same case
through the in-process Python API in the same run.  Checks: no failed
request, and the decision log holds exactly one line per answered decision.

    python benchmarks/serve_bench.py                  # 16 clients, 20 s per endpoint
    python benchmarks/serve_bench.py --clients 8 --seconds 5
    python benchmarks/serve_bench.py --workers 2       # one server process per core
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_serve_helpers import CASE, Server  # noqa: E402

ID = "tianjin_daibing"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class _Response:
    """httptools callbacks: the status, the body, and whether the message is complete."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.done = False

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


async def load(port: int, path: str, body: dict[str, Any], clients: int, seconds: float) -> dict[str, Any]:
    """Keep-alive clients on asyncio streams; responses parsed by httptools (the parser uvicorn uses).

    httpx costs the client more CPU per request than the server spends answering it, and on two shared
    cores the load generator's own cost is the figure measured; so each client writes the request bytes
    and reads with the C parser."""
    import httptools

    latencies: list[float] = []
    failures = 0
    ids: list[str] = []
    stop = time.perf_counter() + seconds
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = (f"POST {quote(path)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode("ascii") + payload

    async def client() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = _Response()
                parser = httptools.HttpResponseParser(response)
                writer.write(request)
                while not response.done:
                    data = await reader.read(65536)
                    if not data:
                        raise ConnectionError("closed")
                    parser.feed_data(data)
                latencies.append(time.perf_counter() - started)
                if parser.get_status_code() == 200:
                    ids.append(json.loads(response.body)["decision_id"])
                else:
                    failures += 1
        except (OSError, httptools.HttpParserError):
            failures += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    return {"requests": len(latencies), "failed": failures, "rate": len(latencies) / elapsed,
            "p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000, "ids": ids}


def in_process(seconds: float) -> dict[str, Any]:
    from yibaolang.api import load as load_policy

    policy = load_policy(ROOT / "examples" / "tianjin_daibing.ybl")

    def timed(call: Any) -> tuple[float, float, float]:
        """Calls a second, median and 99th-percentile milliseconds of `call(CASE)` repeated for `seconds`."""
        latencies = []
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            started = time.perf_counter()
            call(CASE)
            latencies.append(time.perf_counter() - started)
        return len(latencies) / seconds, percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000

    return {"run": timed(policy.run), "explain": timed(policy.explain)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1, help="yibaolang serve --workers")
    args = parser.parse_args()
    clients, seconds = max(1, args.clients), min(max(1.0, args.seconds), 120.0)
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as folder:
        tmp = Path(folder)
        (tmp / "policies").mkdir()
        shutil.copy(ROOT / "examples" / "tianjin_daibing.ybl", tmp / "policies")
        (tmp / "pyproject.toml").write_text("[project]\nname = 'bench'\n", encoding="utf-8")
        log = tmp / "decisions.jsonl"
        server = Server(tmp, "policies", "--decision-log", str(log), "--reload-interval", "0",
                        "--workers", str(max(1, args.workers)))
        try:
            warm = [server.post(f"/v1/policies/{ID}/run", {"case": CASE}).status_code for _ in range(50)]
            assert set(warm) == {200}
            base_lines = len(log.read_text("utf-8").splitlines())
            results = {}
            for endpoint in ("run", "explain"):
                results[endpoint] = asyncio.run(load(server.port, f"/v1/policies/{ID}/{endpoint}", {"case": CASE},
                                                     clients, seconds))
        finally:
            server.close()
        lines = log.read_text("utf-8").splitlines()[base_lines:]
        logged = [json.loads(line)["decision_id"] for line in lines]
    answered = [i for r in results.values() for i in r["ids"]]
    direct = in_process(min(seconds, 5.0))
    print(f"yibaolang serve --workers {max(1, args.workers)}，{clients} 个并发客户端，每个端点 {seconds:g} 秒"
          "（回环网络；负载生成器与服务在同一台机器上）")
    for endpoint, r in results.items():
        print(f"  POST /{endpoint:<8} {r['rate']:8,.0f} 请求/秒   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms"
              f"   共 {r['requests']:,} 个请求，失败 {r['failed']}")
    for name, (rate, p50, p99) in direct.items():
        print(f"  进程内 Policy.{name:<8} {rate:8,.0f} 次/秒   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    one_each = sorted(logged) == sorted(answered)
    print(f"  决定日志：{len(logged):,} 行，回答的决定 {len(answered):,} 个，{'一一对应' if one_each else '不一致'}")
    failed = sum(r["failed"] for r in results.values())
    return 0 if failed == 0 and one_each else 1


if __name__ == "__main__":
    sys.exit(main())
