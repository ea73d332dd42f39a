"""The long fuzz campaign (docs/reliability.md, resources): hostile inputs through the CLI, counted.

    python tools/fuzz.py --minutes 20 --seed 1 [--out DIR]

Each input — a generated policy, a mutated seed policy, a mutated case file
(YAML/JSON), a mutated batch file (CSV/JSON Lines/Parquet) — is run through
`check`, `run`, `explain`, `fmt` or `run --cases` in a child process with
resource limits (address space, CPU time, a wall-clock timeout).  A child that
exits 70, prints "Traceback" or "内部错误", dies of a signal, or outlives the
timeout is a finding; its files and command are saved under --out as a
reproducer.  The last line prints the figures: inputs tried, crashes, hangs.

The children are forked from this process after yibaolang is imported, so an
input costs a fork rather than an interpreter start; each child still runs the
real command line (`yibaolang.tools.cli.main`) with its own limits.
`tests/test_fuzz_campaign.py` runs a short campaign of the same generators.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMORY_BYTES = 2 * 1024**3
CPU_SECONDS = 30
WALL_SECONDS = 40.0
INTERNAL = ("Traceback", "内部错误")

SEED_POLICIES = sorted([*(ROOT / "policies").glob("*.ybl"), *(ROOT / "examples").glob("*.ybl"),
                        *(ROOT / "tests" / "golden" / "check" / "good").glob("*.ybl")])
SEED_CASES = sorted([*(ROOT / "policies").glob("*.cases.yaml"), *(ROOT / "examples").glob("*.yaml")])

# Pieces a mutation splices in: keywords, literals at and past every limit, odd characters.
FRAGMENTS = [
    "定义 ", "输入 ", "函数 ", "条款 ", "原文 ", "如果 ", " 则 ", " 否则 ", "分段累进 ", "查表 (", "分档 ", "分情况 ",
    "例外 ", " 当 ", " 时 = ", " 优先于 ", "引用 \"", "依据 \"", "输出 ", "样例 \"", "期望 ", "断言 ", "约束 ", "参数 ",
    "2万元", "50%", "3个月", "2025-01-01", "(含)", "（含）", "：", "（", "）", "\n    ", "\n", "\t", "\"", "#",
    " × ", " ÷ ", " + ", " - ", " 封顶 ", " 保底 ", "取较小(", "取较大(", "四舍五入(", "999999999999999元",
    "99999999999999%", "0.0000000001", "9" * 30, "1e400", "\ufeff", "\x00", "\x1b]0;title\x07", "𠀀", "\r\n",
    "\r", "\u3000", "计算日期", "年月日(9999, 12, 31)", "相差天数(", "0001-01-01", "9999-12-31", "2023-02-29",
]
CASE_VALUES: list[object] = [
    "999999999999999元", "1000000000000000元", "9" * 45 + "%", "-1元", "0元", "0.001元", "1e10", "NaN", "Infinity",
    "99999999999999999999", 10**30, -(10**16), 2**63, "x" * 300, "\x00", "2023-02-29", "9999-12-31", "0001-01-01",
    "是", "否", True, None, [], {}, "三级", "𠀀", "1,000,000元", "１００元", "50％", "3个月", "-3个月", "1.5年",
]
NASTY_CELLS = ["=1+1", "@SUM(A1)", "+1", "-1", "\"", "\"\"", "a\"b", "\r", "\n", "\t", "", " ", "9" * 5000,
               "999999999999999元", "1e400", "NaN", "\x00", "2023-02-29", "𠀀", "是", "三级"]


@dataclass
class Outcome:
    """How one child ended."""

    status: str  # ok | crash | hang
    code: int | None
    detail: str = ""


@dataclass
class Stats:
    tried: int = 0
    crashes: int = 0
    hangs: int = 0
    by_command: dict[str, int] = field(default_factory=dict)
    findings: list[Path] = field(default_factory=list)


# ------------------------------------------------------------------ running one command


# The child is a fresh interpreter (fork and exec), never a bare fork of this process: a fork of a
# process that runs threads (the test suite's servers, pools and pipelines) can inherit a lock held
# by another thread and wait on it forever.
_CHILD = """
import contextlib, resource, sys
memory, cpu = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
with contextlib.suppress(ValueError, OSError):
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
code = 71
try:
    from yibaolang.tools.cli import main
    try:
        main(sys.argv[3:], prog_name="yibaolang")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
except BaseException:  # anything escaping the CLI is a finding: show it as Python would
    import traceback
    traceback.print_exc()
    code = 70
finally:
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
        sys.stderr.flush()
import os
os._exit(code)
"""


def run_cli(argv: list[str], workdir: Path, *, wall: float = WALL_SECONDS, memory: int = MEMORY_BYTES,
            cpu: int = CPU_SECONDS) -> tuple[Outcome, str, str]:
    """`yibaolang ARGV` in a child interpreter under limits; how it ended, its stdout and stderr."""
    import subprocess

    out_path, err_path = workdir / ".stdout", workdir / ".stderr"
    env = {**os.environ, "XDG_CACHE_HOME": str(workdir / ".cache")}
    with out_path.open("wb") as out, err_path.open("wb") as err:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(memory), str(cpu), *argv], cwd=workdir,
                                 env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            child.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            return Outcome("hang", None, f"no answer after {wall:.0f} s"), _read(out_path), _read(err_path)
    status = child.returncode
    stdout, stderr = _read(out_path), _read(err_path)
    if status < 0:
        sig = -status
        kind = "hang" if sig in (signal.SIGXCPU, signal.SIGKILL) else "crash"
        return Outcome(kind, None, f"killed by signal {signal.Signals(sig).name}"), stdout, stderr
    code = status
    if code == 70 or code == 71:
        return Outcome("crash", code, "exit 70"), stdout, stderr
    marker = next((m for m in INTERNAL if m in stdout or m in stderr), None)
    if marker is not None:
        return Outcome("crash", code, f"{marker} in the output"), stdout, stderr
    return Outcome("ok", code), stdout, stderr


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


# ------------------------------------------------------------------ generated policies


class ProgramGen:
    """Random well-typed-looking policies: definitions, functions, bands, exceptions; chains and blow-ups."""

    KINDS = ("金额", "比例", "数")

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def literal(self, kind: str) -> str:
        r = self.rng
        if kind == "金额":
            return r.choice(["0元", "1元", "800元", "2万元", "100万元", "999999999999999元", "0.01元",
                             f"{r.randint(0, 10**6)}元", f"{r.randint(0, 99999)}.{r.randint(0, 99):02d}元"])
        if kind == "比例":
            return r.choice(["0%", "50%", "100%", "12.5%", "99999999999999%", "0.0000000001%", f"{r.randint(0, 300)}%"])
        return r.choice(["0", "1", "2", "0.5", "999999999999999", "0.0000000001", str(r.randint(0, 10**4)),
                         "1.0000000001"])

    def expr(self, kind: str, names: dict[str, list[str]], depth: int, calls: list[str]) -> str:
        r = self.rng
        options = names.get(kind, [])
        if depth <= 0 or r.random() < 0.25:
            if options and r.random() < 0.7:
                return r.choice(options)
            return self.literal(kind)
        sub = depth - 1
        roll = r.random()
        if roll < 0.15:
            return f"{self.expr(kind, names, sub, calls)} + {self.expr(kind, names, sub, calls)}"
        if roll < 0.25:
            return f"{self.expr(kind, names, sub, calls)} - {self.expr(kind, names, sub, calls)}"
        if roll < 0.40:
            if kind == "金额":
                other = r.choice(["比例", "数"])
                return f"{self.expr('金额', names, sub, calls)} × {self.expr(other, names, sub, calls)}"
            return f"{self.expr(kind, names, sub, calls)} × {self.expr(kind, names, sub, calls)}"
        if roll < 0.48:
            divisor = self.expr("数", names, sub, calls)
            return f"({self.expr(kind, names, sub, calls)}) ÷ ({divisor})"
        if roll < 0.58:
            word = r.choice(["取较小", "取较大"])
            return f"{word}({self.expr(kind, names, sub, calls)}, {self.expr(kind, names, sub, calls)})"
        if roll < 0.66:
            word = r.choice(["封顶", "保底"])
            return f"({self.expr(kind, names, sub, calls)}) {word} {self.literal(kind)}"
        if roll < 0.78:
            cond = f"{self.expr(kind, names, 0, calls)} > {self.literal(kind)}"
            return f"(如果 {cond} 则 {self.expr(kind, names, sub, calls)} 否则 {self.expr(kind, names, sub, calls)})"
        if roll < 0.88 and calls and kind == "数":
            f = r.choice(calls)
            return f"{f}({self.expr('数', names, sub, calls)})"
        if kind != "比例":
            return f"四舍五入({self.expr(kind, names, sub, calls)})"
        return f"({self.expr(kind, names, sub, calls)})"

    def program(self) -> str:
        r = self.rng
        lines = ["政策 生成的政策", ""]
        names: dict[str, list[str]] = {k: [] for k in self.KINDS}
        for i in range(r.randint(1, 4)):
            kind = r.choice(self.KINDS)
            lines.append(f"输入 入{i} : {kind}")
            names[kind].append(f"入{i}")
        calls: list[str] = []
        shape = r.random()
        if shape < 0.15:  # f(x) + f(x), nested
            lines.append("函数 倍0(x : 数) : 数 = x + 1")
            depth = r.randint(5, 40)
            for i in range(1, depth):
                arg = r.choice(["x", "x + 1", "x × 2"])
                lines.append(f"函数 倍{i}(x : 数) : 数 = 倍{i - 1}({arg}) + 倍{i - 1}(x)")
            calls.append(f"倍{depth - 1}")
        elif shape < 0.25:  # a long chain
            length = r.choice([10, 100, 149, 150, 151, 300, 600])
            base = names["数"][0] if names["数"] else "1"
            lines.append(f"定义 链0 : 数 = {base}")
            lines += [f"定义 链{i} : 数 = 链{i - 1} + 1" for i in range(1, length)]
            names["数"].append(f"链{length - 1}")
        elif shape < 0.32:  # repeated squaring
            base = names["数"][0] if names["数"] else "2"
            lines.append(f"定义 方0 : 数 = {base} + 2")
            lines += [f"定义 方{i} : 数 = 方{i - 1} × 方{i - 1}" for i in range(1, r.randint(3, 12))]
        for i in range(r.randint(0, 3)):
            lines.append(f"函数 函{i}(x : 数) : 数 = {self.expr('数', {'数': ['x']}, 2, calls)}")
            calls.append(f"函{i}")
        for i in range(r.randint(1, 6)):
            kind = r.choice(self.KINDS)
            lines.append(f"定义 值{i} : {kind} = {self.expr(kind, names, r.randint(0, 5), calls)}")
            names[kind].append(f"值{i}")
        if names["金额"] and r.random() < 0.4:
            subject = r.choice(names["金额"])
            lines += ["定义 段 : 金额 =", f"    分段累进 {subject}",
                      f"        {self.literal('金额')} 至 {self.literal('金额')}（含） 按 {self.literal('比例')}",
                      f"        {self.literal('金额')} 以上 按 {self.literal('比例')}"]
            names["金额"].append("段")
        if r.random() < 0.2 and names["金额"]:
            target = r.choice(names["金额"])
            if not target.startswith("入"):
                reads = [n for n in names["金额"] if n.startswith("入")] or ["0元"]
                lines.append(f"例外 {target} 当 {r.choice(reads)} > {self.literal('金额')} 时 = {self.literal('金额')}")
        outputs = [n for kind in self.KINDS for n in names[kind] if not n.startswith("入")]
        if outputs:
            lines += [f"输出 {name}" for name in r.sample(outputs, min(len(outputs), 3))]
        return "\n".join(lines) + "\n"

    def case(self, text: str) -> dict[str, object]:
        r = self.rng
        values: dict[str, object] = {}
        for line in text.splitlines():
            if line.startswith("输入 "):
                name, kind = line[3:].split(" : ")
                if r.random() < 0.8:
                    values[name] = {"金额": f"{r.randint(0, 10**6)}元", "比例": f"{r.randint(0, 100)}%",
                                    "数": str(r.randint(0, 100))}[kind]
                else:
                    values[name] = r.choice(CASE_VALUES)
        return values


# ------------------------------------------------------------------ mutations


def mutate_text(rng: random.Random, text: str, rounds: int = 4) -> str:
    for _ in range(rng.randint(1, rounds)):
        if not text:
            text = rng.choice(FRAGMENTS)
            continue
        at = rng.randrange(len(text))
        action = rng.random()
        if action < 0.25:
            text = text[:at] + text[min(len(text), at + rng.randint(1, 20)):]
        elif action < 0.55:
            text = text[:at] + rng.choice(FRAGMENTS) + text[at:]
        elif action < 0.7:
            lines = text.split("\n")
            i = at % len(lines)
            lines[i:i] = [lines[i]] * rng.randint(1, 3)
            text = "\n".join(lines)
        elif action < 0.85:  # swap two tokens
            words = text.split(" ")
            if len(words) > 2:
                a, b = rng.randrange(len(words)), rng.randrange(len(words))
                words[a], words[b] = words[b], words[a]
                text = " ".join(words)
        else:
            text = text[:at] + text[at:at + rng.randint(1, 200)] * rng.randint(2, 30) + text[at:]
    return text


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not out:
            out += bytes([rng.randrange(256)])
            continue
        at = rng.randrange(len(out))
        roll = rng.random()
        if roll < 0.4:
            out[at] = rng.randrange(256)
        elif roll < 0.7:
            del out[at:at + rng.randint(1, 8)]
        else:
            out[at:at] = rng.choice([b"\x00", b"\xff\xfe", b"\xe4\xb8", b"\r", b"\"", b"\n\n", b"\xef\xbb\xbf"])
    return bytes(out)


def _seed_cases() -> list[tuple[Path, dict[str, object]]]:
    """(policy, inputs) for every case in the seed *.cases.yaml files."""
    import yaml

    out: list[tuple[Path, dict[str, object]]] = []
    for path in SEED_CASES:
        policy = path.with_name(path.name.split(".")[0] + ".ybl")
        if not policy.exists():
            continue
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except yaml.YAMLError:
            continue
        items = data if isinstance(data, list) else [{"输入": data}]
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("输入"), dict):
                out.append((policy, {str(k): v for k, v in item["输入"].items()}))
    return out


def mutate_case(rng: random.Random, values: dict[str, object]) -> dict[str, object]:
    values = dict(values)
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if values and roll < 0.6:
            values[rng.choice(list(values))] = rng.choice(CASE_VALUES)
        elif values and roll < 0.75:
            values.pop(rng.choice(list(values)))
        elif roll < 0.85:
            values[rng.choice(["计算日期", "未知输入", "𠀀", ""])] = rng.choice(CASE_VALUES)
        else:
            nested: object = "1元"
            for _ in range(rng.randint(1, 300)):
                nested = [nested]
            values[rng.choice(list(values) or ["甲"])] = nested
    return values


def case_file_text(rng: random.Random, values: dict[str, object]) -> tuple[str, str]:
    """The case as YAML or JSON text (suffix, text), sometimes mutated as text."""
    if rng.random() < 0.5:
        text = json.dumps(values, ensure_ascii=False, default=str)
        suffix = ".json"
    else:
        import yaml

        text = yaml.safe_dump(values, allow_unicode=True)
        suffix = ".yaml"
        if rng.random() < 0.2:
            text += rng.choice(["!!python/object:os.system {}\n", "a: &x [*x]\n", "b: !!binary AAAA\n",
                                "计算日期: 2023-02-29\n", "\x00: 1\n"])
    if rng.random() < 0.3:
        text = mutate_text(rng, text, 2)
    return suffix, text


def batch_file(rng: random.Random, folder: Path, names: list[str], rows: list[dict[str, object]]) -> Path:
    """A CSV, JSON Lines or Parquet file of the rows, with hostile cells and broken lines."""
    columns = [*names] + (["多余列"] if rng.random() < 0.2 else [])
    grid = [[str(row.get(c, "")) if row.get(c) is not None else "" for c in columns] for row in rows]
    for line in grid:
        if line and rng.random() < 0.3:
            line[rng.randrange(len(line))] = rng.choice(NASTY_CELLS)
    form = rng.choice(["csv", "csv", "jsonl", "parquet"])
    path = folder / f"cases.{form}"
    if form == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        if rng.random() < 0.2 and columns:
            columns = [*columns, columns[0]]
            grid = [[*line, line[0]] for line in grid]
        arrays = [pa.array([line[i] for line in grid], type=pa.string()) for i in range(len(columns))]
        if arrays and rng.random() < 0.3:
            arrays[0] = pa.array([rng.choice([1.5, 1e300, None]) for _ in grid], type=pa.float64())
        pq.write_table(pa.Table.from_arrays(arrays, names=columns), path)
        if rng.random() < 0.2:
            path.write_bytes(mutate_bytes(rng, path.read_bytes()))
        return path
    if form == "jsonl":
        text = "\n".join(json.dumps(dict(zip(columns, line, strict=True)), ensure_ascii=False) for line in grid)
    else:
        def cell(value: str) -> str:
            return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ",\"\n\r") else value

        text = "\n".join(",".join(cell(v) for v in line) for line in [columns, *grid])
    text = mutate_text(rng, text, 3) if rng.random() < 0.5 else text
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


# ------------------------------------------------------------------ the campaign


@dataclass
class Job:
    """Files to write into a fresh folder, and the command to run there."""

    label: str
    files: dict[str, bytes]
    argv: list[str]
    batch: Callable[[Path], None] | None = None


def _policy_job(rng: random.Random, label: str, text: str, cases: dict[str, object] | None) -> Job:
    files = {"p.ybl": text.encode("utf-8", "surrogatepass")}
    roll = rng.random()
    if roll < 0.35 or cases is None:
        argv = ["check", "p.ybl", *rng.choice([[], ["--format", "json"], ["--format", "sarif"], ["--strict"],
                                                ["--prove"]])]
    elif roll < 0.45:
        argv = ["fmt", rng.choice(["p.ybl", "--check"])] + (["p.ybl"] if roll > 0.4 else [])
    else:
        suffix, case_text = case_file_text(rng, cases)
        files["case" + suffix] = case_text.encode("utf-8", "surrogatepass")
        if roll < 0.75:
            argv = ["run", "p.ybl", "--case", "case" + suffix, *rng.choice([[], ["--format", "json"]])]
        else:
            argv = ["explain", "p.ybl", "--case", "case" + suffix,
                    *rng.choice([[], ["--format", "json"], ["--format", "markdown"], ["--format", "html"]])]
    return Job(label, files, argv)


def jobs(seed: int) -> Iterator[Job]:
    """An endless, deterministic stream of hostile inputs."""
    rng = random.Random(seed)
    gen = ProgramGen(rng)
    seeds = [(p, p.read_text("utf-8")) for p in SEED_POLICIES]
    cases = _seed_cases()
    while True:
        roll = rng.random()
        if roll < 0.3:
            text = gen.program()
            yield _policy_job(rng, "generated", text, gen.case(text))
        elif roll < 0.55:
            path, text = rng.choice(seeds)
            inputs = next((v for p, v in cases if p == path), {})
            if rng.random() < 0.2:
                data = mutate_bytes(rng, text.encode("utf-8"))
                yield Job("mutated-bytes", {"p.ybl": data}, ["check", "p.ybl"])
            else:
                yield _policy_job(rng, "mutated-policy", mutate_text(rng, text), inputs)
        elif roll < 0.8 and cases:
            policy, inputs = rng.choice(cases)
            yield _policy_job(rng, "mutated-case", policy.read_text("utf-8"), mutate_case(rng, inputs))
        elif cases:
            policy, inputs = rng.choice(cases)
            rows = [mutate_case(rng, inputs) if rng.random() < 0.4 else inputs for _ in range(rng.randint(1, 30))]
            names = sorted({k for row in rows for k in row})
            argv_tail = rng.choice([["-o", "out.csv"], ["-o", "out.jsonl"], ["-o", "out.parquet"],
                                    ["-o", "out.csv", "--keep-inputs"], ["-o", "out.csv", "--engine", "interpreter"]])
            job = Job("batch", {"p.ybl": policy.read_bytes()}, [])

            def build(folder: Path, job: Job = job, rows: list[dict[str, object]] = rows, names: list[str] = names,
                      tail: list[str] = argv_tail, state: int = rng.randrange(2**32)) -> None:
                path = batch_file(random.Random(state), folder, names, rows)
                job.argv = ["run", "p.ybl", "--cases", path.name, *tail]

            job.batch = build
            yield job


def run_job(job: Job, work: Path, wall: float) -> tuple[Outcome, str, str]:
    if work.exists():
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name, data in job.files.items():
        (work / name).write_bytes(data)
    if job.batch is not None:
        job.batch(work)
    return run_cli(job.argv, work, wall=wall)


def save(job: Job, work: Path, out: Path, outcome: Outcome, stdout: str, stderr: str, number: int) -> Path:
    target = out / f"{number:05d}-{outcome.status}-{job.label}"
    shutil.copytree(work, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".cache"))
    (target / "COMMAND").write_text(
        "yibaolang " + " ".join(job.argv) + f"\n# {outcome.status}: {outcome.detail} (exit {outcome.code})\n",
        encoding="utf-8")
    (target / "OUTPUT").write_text(f"--- stdout\n{stdout[-5000:]}\n--- stderr\n{stderr[-5000:]}\n", encoding="utf-8")
    return target


def campaign(seconds: float, seed: int, out: Path, *, wall: float = WALL_SECONDS, limit: int | None = None,
             log: Callable[[str], None] = print) -> Stats:
    """Run jobs until `seconds` pass (or `limit` jobs); save every finding under `out`."""
    stats = Stats()
    out.mkdir(parents=True, exist_ok=True)
    stop = time.monotonic() + seconds
    with tempfile.TemporaryDirectory(prefix="yibaolang-fuzz-") as scratch:
        work = Path(scratch) / "job"
        for job in jobs(seed):
            if time.monotonic() > stop or (limit is not None and stats.tried >= limit):
                break
            outcome, stdout, stderr = run_job(job, work, wall)
            stats.tried += 1
            command = job.argv[0] + (" --cases" if "--cases" in job.argv else "")
            stats.by_command[command] = stats.by_command.get(command, 0) + 1
            if outcome.status == "ok":
                continue
            if outcome.status == "crash":
                stats.crashes += 1
            else:
                stats.hangs += 1
            saved = save(job, work, out, outcome, stdout, stderr, stats.tried)
            stats.findings.append(saved)
            log(f"{outcome.status}: {' '.join(job.argv)} — {outcome.detail} → {saved}")
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description="yibaolang 的长时间模糊测试")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "yibaolang-fuzz-findings")
    parser.add_argument("--timeout", type=float, default=WALL_SECONDS, help="wall seconds before a run is a hang")
    args = parser.parse_args()
    import yibaolang.tools.cli  # noqa: F401  (imported once here; every child is a fork of this process)

    started = time.monotonic()
    stats = campaign(args.minutes * 60, args.seed, args.out, wall=args.timeout)
    elapsed = time.monotonic() - started
    commands = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_command.items()))
    print(f"seed {args.seed}, {elapsed / 60:.1f} min: {stats.tried} inputs tried ({commands}); "
          f"{stats.crashes} crashes, {stats.hangs} hangs; reproducers in {args.out}")
    return 1 if stats.crashes or stats.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
