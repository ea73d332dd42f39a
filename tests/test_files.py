"""The one output-writing path (yibaolang/files.py, docs/reliability.md "输出文件").

Every command that writes a file is driven from the command line, as a user
would: an output that is one of its inputs is refused, a failed write leaves the
previous file and no temporary behind, and the failure is a Chinese diagnostic
with the path.  The full disk is a real 64 KiB tmpfs when this process may mount
one, otherwise a process limit (RLIMIT_FSIZE) — the same promise either way.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from yibaolang import files
from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples" / "tianjin_daibing.ybl"
CASE = ROOT / "examples" / "tianjin_daibing.case.yaml"
HUANGSHI = ROOT / "policies" / "huangshi_2010.ybl"
YIBAOLANG = [sys.executable, "-m", "yibaolang.tools.cli"]


def cli(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copy(POLICY, tmp_path / "p.ybl")
    shutil.copy(CASE, tmp_path / "c.yaml")
    result = cli("sample", HUANGSHI, "--rows", "20", "-o", tmp_path / "same.csv")
    assert result.exit_code == 0, result.output
    return tmp_path


# ------------------------------------------------------------------ an output that is an input


def _spellings(work: Path, name: str) -> list[str]:
    os.symlink(work / name, work / f"link-{name}")
    os.link(work / name, work / f"hard-{name}")
    return [str(work / name), f"./{name}", f"link-{name}", f"hard-{name}", f"../{work.name}/{name}"]


def test_run_cases_refuses_to_overwrite_its_case_file_in_any_spelling(work: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(work)
    before = (work / "same.csv").read_bytes()
    for spelling in _spellings(work, "same.csv"):
        result = cli("run", HUANGSHI, "--cases", "same.csv", "-o", spelling)
        assert result.exit_code == 1, (spelling, result.output)
        assert "YB020" in result.output and "不能覆盖输入" in result.output
        assert (work / "same.csv").read_bytes() == before
    assert leftovers(work) == []


def test_explain_refuses_the_policy_and_the_case_as_output(work: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(work)
    policy, case = (work / "p.ybl").read_bytes(), (work / "c.yaml").read_bytes()
    for target in ("p.ybl", "./p.ybl", "c.yaml", "./c.yaml"):
        result = cli("explain", "p.ybl", "--case", "c.yaml", "-o", target)
        assert result.exit_code == 1, result.output
        assert "YB020" in result.output
    assert (work / "p.ybl").read_bytes() == policy and (work / "c.yaml").read_bytes() == case


def test_compare_plot_and_sample_refuse_their_inputs(work: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(work)
    shutil.copy(HUANGSHI, work / "h.ybl")
    cases = (work / "same.csv").read_bytes()
    result = cli("compare", "h.ybl", "h.ybl", "--cases", "same.csv", "-o", "./same.csv")
    assert result.exit_code == 1 and "YB020" in result.output, result.output
    assert (work / "same.csv").read_bytes() == cases
    result = cli("plot", "p.ybl", "--vary", "门诊费用", "--from", "0元", "--to", "1万元", "--case", "c.yaml",
                 "-o", "c.yaml")
    assert result.exit_code == 2  # not .svg/.html: refused as usage before anything else
    os.symlink(work / "p.ybl", work / "chart.svg")
    policy = (work / "p.ybl").read_bytes()
    result = cli("plot", "p.ybl", "--vary", "门诊费用", "--from", "0元", "--to", "1万元", "-o", "chart.svg")
    assert result.exit_code == 1 and "YB020" in result.output, result.output
    assert (work / "p.ybl").read_bytes() == policy
    os.symlink(work / "h.ybl", work / "h.csv")
    result = cli("sample", "h.ybl", "--rows", "3", "-o", "h.csv")
    assert result.exit_code == 1 and "YB020" in result.output, result.output
    assert leftovers(work) == []


# ------------------------------------------------------------------ how a file is written


def test_outputs_get_the_umask_not_0600(work: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(work)
    for mask, mode in ((0o022, 0o644), (0o002, 0o664), (0o077, 0o600)):
        old = os.umask(mask)
        try:
            result = cli("run", HUANGSHI, "--cases", "same.csv", "-o", f"out-{mask:o}.csv")
            assert result.exit_code in (0, 1), result.output
            result = cli("explain", "p.ybl", "--case", "c.yaml", "-o", f"e-{mask:o}.md", "--format", "markdown")
            assert result.exit_code == 0, result.output
        finally:
            os.umask(old)
        assert (work / f"out-{mask:o}.csv").stat().st_mode & 0o777 == mode
        assert (work / f"e-{mask:o}.md").stat().st_mode & 0o777 == mode


def test_commit_fsyncs_the_file_and_the_folder(tmp_path: Path, monkeypatch: Any) -> None:
    synced: list[int] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    files.write_text(tmp_path / "a.txt", "甲")
    assert (tmp_path / "a.txt").read_text("utf-8") == "甲"
    assert len(synced) == 2  # the data, then the folder's entry for the rename


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("旧的")
    with pytest.raises(RuntimeError), files.Output(target) as out:
        out.write(b"half")
        raise RuntimeError("stop")
    assert target.read_text("utf-8") == "旧的"
    assert leftovers(tmp_path) == []


def test_writing_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("old")
    os.symlink(tmp_path / "real.txt", tmp_path / "link.txt")
    files.write_text(tmp_path / "link.txt", "new")
    assert (tmp_path / "link.txt").is_symlink()
    assert (tmp_path / "real.txt").read_text() == "new"


def test_output_into_a_missing_folder_or_onto_a_folder_is_a_diagnostic(work: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(work)
    for target in ("missing/out.csv", "missing/deeper/out.csv"):
        result = cli("run", HUANGSHI, "--cases", "same.csv", "-o", target)
        assert result.exit_code == 1, result.output
        assert "YB021" in result.output and "不存在" in result.output and "out.csv" in result.output
    (work / "folder.html").mkdir()
    result = cli("explain", "p.ybl", "--case", "c.yaml", "-o", "folder.html", "--format", "html")
    assert result.exit_code == 2 and "是一个文件夹" in result.output, result.output
    result = cli("check", "p.ybl", "--counterexamples", "same.csv")
    assert result.exit_code == 2 and "是一个文件" in result.output, result.output


def test_output_into_an_unwritable_folder_is_a_diagnostic(work: Path) -> None:
    """EACCES for an ordinary user; root writes anywhere, so for root the folder is a read-only tmpfs (EROFS)."""
    locked = work / "locked"
    locked.mkdir()
    (locked / "out.html").write_text("旧的")
    mounted = False
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(locked)],
                                 capture_output=True).returncode == 0
        assert mounted, "root could not mount a tmpfs"
        (locked / "out.html").write_text("旧的")
        subprocess.run(["mount", "-o", "remount,ro", str(locked)], check=True)
        reason = "文件系统是只读的"
    else:
        os.chmod(locked, 0o555)
        reason = "没有写入权限"
    try:
        proc = subprocess.run([*YIBAOLANG, "explain", "p.ybl", "--case", "c.yaml", "--format", "html",
                               "-o", "locked/out.html"], cwd=work, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert "YB021" in proc.stderr and reason in proc.stderr and "locked/out.html" in proc.stderr
        assert (locked / "out.html").read_text("utf-8") == "旧的"
    finally:
        if mounted:
            subprocess.run(["umount", str(locked)], check=False)
        else:
            os.chmod(locked, 0o755)


# ------------------------------------------------------------------ a full disk, a size limit, a full stdout


@contextlib.contextmanager
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, Any]]:
    """A nearly full 64 KiB tmpfs when this process may mount one; otherwise a 2 KiB RLIMIT_FSIZE."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = False
    if os.geteuid() == 0 and shutil.which("mount"):
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                                 capture_output=True).returncode == 0

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    try:
        yield folder, (None if mounted else limit)
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_keeps_the_previous_file(work: Path) -> None:
    rows = work / "rows.csv"
    assert cli("sample", HUANGSHI, "--rows", "5000", "-o", rows).exit_code == 0
    with small_disk(work) as (disk, limit):
        for target in ("out.csv", "out.jsonl", "out.parquet", "explain.html", "compare.html", "plot.html"):
            (disk / target).write_text("旧的")
        if limit is None:
            free = os.statvfs(disk)
            (disk / "filler").write_bytes(b"x" * max(0, free.f_bavail * free.f_frsize - 2048))
        for command, target in ((["run", str(HUANGSHI), "--cases", str(rows), "--keep-inputs"], "out.csv"),
                                (["run", str(HUANGSHI), "--cases", str(rows), "--keep-inputs"], "out.jsonl"),
                                (["run", str(HUANGSHI), "--cases", str(rows), "--keep-inputs"], "out.parquet"),
                                (["explain", "p.ybl", "--case", "c.yaml", "--format", "html"], "explain.html"),
                                (["compare", str(HUANGSHI), str(HUANGSHI), "--cases", str(rows)], "compare.html"),
                                (["plot", "p.ybl", "--vary", "门诊费用", "--from", "0元", "--to", "1万元"], "plot.html")):
            proc = subprocess.run([*YIBAOLANG, *command, "-o", str(disk / target)], cwd=work, capture_output=True,
                                  text=True, timeout=300, preexec_fn=limit)
            assert proc.returncode == 1, (target, proc.stderr)
            assert "YB021" in proc.stderr and target in proc.stderr, proc.stderr
            assert ("磁盘空间不足" in proc.stderr) or ("文件超过了允许的大小" in proc.stderr), proc.stderr
            assert "Traceback" not in proc.stderr and "内部错误" not in proc.stderr
            assert (disk / target).read_text("utf-8") == "旧的"
            assert leftovers(disk) == []


def test_ulimit_f_is_a_diagnostic_not_a_killed_process(work: Path) -> None:
    (work / "explain.html").write_text("旧的")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    proc = subprocess.run([*YIBAOLANG, "explain", "p.ybl", "--case", "c.yaml", "--format", "html",
                           "-o", "explain.html"], cwd=work, capture_output=True, text=True, timeout=120,
                          preexec_fn=limit)
    assert proc.returncode == 1, proc.stderr  # not -SIGXFSZ
    assert "文件超过了允许的大小" in proc.stderr and "explain.html" in proc.stderr
    assert (work / "explain.html").read_text("utf-8") == "旧的"
    assert leftovers(work) == []


@pytest.mark.parametrize("command", [["check", "p.ybl"], ["run", "p.ybl", "--case", "c.yaml", "--format", "json"],
                                     ["explain", "p.ybl", "--case", "c.yaml"], ["--help"], ["--version"],
                                     ["run", "--help"]])
def test_stdout_on_a_full_device_is_a_diagnostic(work: Path, command: list[str]) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*YIBAOLANG, *command], cwd=work, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "无法写入标准输出：磁盘空间不足" in proc.stderr
    assert "Traceback" not in proc.stderr and "内部错误" not in proc.stderr


# ------------------------------------------------------------------ signals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_batch_write_removes_the_temporary(work: Path, signum: int) -> None:
    rows = work / "rows.csv"
    assert cli("sample", HUANGSHI, "--rows", "400000", "-o", rows).exit_code == 0
    (work / "out.csv").write_text("旧的")
    proc = subprocess.Popen([*YIBAOLANG, "run", str(HUANGSHI), "--cases", str(rows), "-o", "out.csv",
                             "--chunk-size", "2000", "--engine", "interpreter"], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not leftovers(work) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert leftovers(work), "the batch never started writing"
        proc.send_signal(signum)
        proc.communicate(timeout=60)  # also closes the pipes (an unclosed one warns in the next test)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signum
    assert leftovers(work) == []
    assert (work / "out.csv").read_text("utf-8") == "旧的"


def test_signal_handlers_are_restored_after_the_write(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with files.Output(tmp_path / "x") as out:
        assert signal.getsignal(signal.SIGTERM) is not before
        out.write(b"x")
    assert signal.getsignal(signal.SIGTERM) is before


def test_fmt_keeps_the_file_mode_and_writes_atomically(tmp_path: Path) -> None:
    policy = tmp_path / "p.ybl"
    policy.write_text(POLICY.read_text("utf-8").replace("输入 大病个人负担 :", "输入   大病个人负担 :"), "utf-8")
    os.chmod(policy, 0o640)
    result = cli("fmt", policy)
    assert result.exit_code == 0, result.output
    assert policy.stat().st_mode & 0o777 == 0o640
    assert "输入 大病个人负担 :" in policy.read_text("utf-8")
    assert leftovers(tmp_path) == []
