"""The one path resolver (yibaolang/paths.py): roots, kinds, sizes, folder walks (docs/reliability.md).

Each finding of the hostile-input campaign is reproduced here through the
command line as a drafter runs it (a new process where a hang or a memory
blow-up is the failure), then the resolver's own promises are pinned by unit
tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.runner import invoke_in
from yibaolang import paths
from yibaolang.paths import ReadRefused, Refusal, read_limited, resolve, resolve_data_file, walk_policies

SECRET = "定义 秘密数额 = 42  # 项目之外的一行，绝不能出现在任何输出里\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/项目 (the project root, with yibaolang.toml) and tmp/外部 (outside it)."""
    project = tmp_path / "项目"
    outside = tmp_path / "外部"
    project.mkdir()
    outside.mkdir()
    (project / "yibaolang.toml").write_text("", encoding="utf-8")
    (outside / "秘密.ybl").write_text(SECRET, encoding="utf-8")
    (outside / "乱.ybl").write_text("定义   甲=1\n", encoding="utf-8")
    return project


def cli(folder: Path, *args: str) -> tuple[int, str]:
    result = invoke_in(folder, *args)
    return result.exit_code, result.output


def process(folder: Path, *args: str, memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """`yibaolang ARGS` in a new process: a hang fails by timeout, a whole-file read by the memory limit."""
    def limit() -> None:
        if memory is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {**os.environ, "YIBAOLANG_NO_CACHE": "1"}
    return subprocess.run([sys.executable, "-m", "yibaolang", *args], cwd=folder, capture_output=True, text=True,
                          timeout=60, preexec_fn=limit, env=env)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def message(output: str) -> str:
    """The diagnostic's words with the path written in the policy blanked out."""
    first = next(line for line in output.splitlines() if "错误[" in line)
    return re.sub(r"：.*$", "：…", first.split(": ", 1)[1])


# ------------------------------------------------------------------ 依据 and 引用 are confined


@pytest.mark.parametrize("basis", ["/etc/passwd", "../外部/秘密.ybl", "{outside}/秘密.ybl", "../../../../../../../etc/passwd"])
def test_a_basis_outside_the_roots_is_never_read(tree: Path, basis: str) -> None:
    write(tree / "市级.ybl", f'依据 "{basis.format(outside=tree.parent / "外部")}"\n定义 甲 = 1\n')
    code, out = cli(tree, "check", "市级.ybl")
    assert code == 1 and "[YB313]" in out
    assert "秘密数额" not in out and "root:" not in out


def test_outside_reads_exactly_like_missing(tree: Path) -> None:
    """YB310 vs YB311 used to tell which files exist outside the root: now one answer for both."""
    write(tree / "甲.ybl", '引用 "../外部/秘密.ybl"\n')
    write(tree / "乙.ybl", '引用 "../外部/没有.ybl"\n')
    write(tree / "丙.ybl", '依据 "../外部/秘密.ybl"\n')
    write(tree / "丁.ybl", '依据 "../外部/没有.ybl"\n')
    outs = [cli(tree, "check", name)[1] for name in ("甲.ybl", "乙.ybl", "丙.ybl", "丁.ybl")]
    assert "[YB310]" in outs[0] and "[YB313]" in outs[2]
    assert message(outs[0]) == message(outs[1]) and message(outs[2]) == message(outs[3])
    hint = [line for line in outs[0].splitlines() if "提示" in line]
    assert hint == [line for line in outs[1].splitlines() if "提示" in line]
    for sarif in (cli(tree, "check", "--format", "sarif", name)[1] for name in ("甲.ybl", "乙.ybl")):
        assert "YB311" not in sarif and "秘密数额" not in sarif


def test_a_link_inside_the_project_to_a_file_outside_is_outside(tree: Path) -> None:
    (tree / "链接.ybl").symlink_to(tree.parent / "外部" / "秘密.ybl")
    write(tree / "p.ybl", '引用 "链接.ybl"\n')
    code, out = cli(tree, "check", "p.ybl")
    assert code == 1 and "[YB310]" in out and "秘密数额" not in out


def test_imports_and_bases_inside_the_project_still_work(tree: Path) -> None:
    (tree / "共用").mkdir()
    write(tree / "共用" / "省级.ybl", "政策 省级\n条款 \"一\" 比例\n    原文 \"不低于80%\"\n    要求 比例 : 比例\n"
                                      "    约束 比例 不低于 80%\n")
    write(tree / "共用" / "基数.ybl", "定义 基数 : 金额 = 100元\n")
    (tree / "别名.ybl").symlink_to(tree / "共用" / "基数.ybl")  # a link that stays inside is fine
    write(tree / "市级.ybl", '依据 "共用/省级.ybl"\n引用 "别名.ybl"\n条款 "二" 比例\n    原文 "85%"\n'
                            "    参数 比例 : 比例 = 85%\n定义 两倍 : 金额 = 基数 × 2\n输出 比例, 两倍\n")
    code, out = cli(tree, "check", "市级.ybl")
    assert code == 0, out


# ------------------------------------------------------------------ kinds and sizes, before reading


def test_an_import_of_a_fifo_is_refused_without_blocking(tree: Path) -> None:
    os.mkfifo(tree / "管道.ybl")
    write(tree / "p.ybl", '引用 "管道.ybl"\n')
    result = process(tree, "check", "p.ybl")  # used to hang forever
    assert result.returncode == 1 and "[YB003]" in result.stdout and "不是普通文件" in result.stdout


def test_a_fifo_named_on_the_command_line_is_refused_without_blocking(tree: Path) -> None:
    os.mkfifo(tree / "管道.ybl")
    os.mkfifo(tree / "案例.yaml")
    write(tree / "p.ybl", "输入 费用 : 金额\n定义 甲 : 金额 = 费用\n输出 甲\n")
    result = process(tree, "check", "管道.ybl")
    assert result.returncode == 1 and "[YB003]" in result.stdout
    result = process(tree, "run", "p.ybl", "--case", "案例.yaml")
    assert result.returncode == 1 and "[YB401]" in result.stderr


def test_an_import_of_a_folder_is_refused(tree: Path) -> None:
    (tree / "资料").mkdir()
    write(tree / "p.ybl", '引用 "资料"\n')
    code, out = cli(tree, "check", "p.ybl")
    assert code == 1 and "[YB003]" in out and "文件夹" in out


def test_an_import_path_over_255_bytes_is_a_diagnostic(tree: Path) -> None:
    write(tree / "p.ybl", f'引用 "{"长" * 100}.ybl"\n')  # 300 bytes in UTF-8: ENAMETOOLONG used to exit 70
    result = process(tree, "check", "p.ybl")
    assert result.returncode == 1, result.stderr
    assert "[YB003]" in result.stdout and "路径过长" in result.stdout


def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_a_huge_sparse_import_is_refused_from_its_size(tree: Path) -> None:
    """3 GiB imported used to be read whole (3.1 GB RSS) before the 2 MiB limit fired."""
    sparse(tree / "大.ybl", 3 * 1024 ** 3)
    write(tree / "p.ybl", '引用 "大.ybl"\n')
    sparse(tree / "大案例.yaml", 3 * 1024 ** 3)
    write(tree / "q.ybl", "输入 费用 : 金额\n定义 甲 : 金额 = 费用\n输出 甲\n")
    gib = 1024 ** 3
    result = process(tree, "check", "p.ybl", memory=gib)
    assert result.returncode == 1 and "[YB001]" in result.stdout and "3221225472 字节" in result.stdout
    result = process(tree, "check", "大.ybl", memory=gib)  # on the command line (20 GiB took 20 GB)
    assert result.returncode == 1 and "[YB001]" in result.stdout
    result = process(tree, "run", "q.ybl", "--case", "大案例.yaml", memory=gib)
    assert result.returncode == 1 and "[YB401]" in result.stderr and "案例文件过大" in result.stderr


# ------------------------------------------------------------------ folders walked by check and fmt


def test_check_dir_skips_a_link_out_of_the_project_and_says_so(tree: Path) -> None:
    (tree / "政策").mkdir()
    write(tree / "政策" / "好.ybl", "定义 甲 = 1\n")
    (tree / "政策" / "外链.ybl").symlink_to(tree.parent / "外部" / "秘密.ybl")
    (tree / "政策" / "外部文件夹").symlink_to(tree.parent / "外部")
    for fmt in ("text", "sarif", "json"):
        code, out = cli(tree, "check", "--format", fmt, "政策")
        assert code == 1
        assert "秘密数额" not in out and "42" not in out  # not a line of the file outside, anywhere
        assert "外链.ybl" in out and "外部文件夹" in out
    code, out = cli(tree, "check", "政策")
    assert "检查了 1 个文件" in out and "[YB003]" in out


def test_fmt_dir_never_writes_through_a_link_out_of_the_project(tree: Path) -> None:
    (tree / "政策").mkdir()
    write(tree / "政策" / "乱.ybl", "定义   乙=2\n")
    (tree / "政策" / "外链.ybl").symlink_to(tree.parent / "外部" / "乱.ybl")
    code, out = cli(tree, "fmt", "政策")
    assert code == 1 and "外链.ybl" in out
    assert (tree.parent / "外部" / "乱.ybl").read_text(encoding="utf-8") == "定义   甲=1\n"
    assert (tree / "政策" / "乱.ybl").read_text(encoding="utf-8") == "定义 乙 = 2\n"


def test_check_dir_reports_a_folder_it_cannot_read(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tree / "政策" / "锁住").mkdir(parents=True)
    write(tree / "政策" / "锁住" / "内.ybl", "定义 甲 = 1\n")
    write(tree / "政策" / "好.ybl", "定义 乙 = 1\n")
    if os.getuid() == 0:  # root reads any folder: make this one unreadable the way the kernel would say it
        real_scandir = os.scandir

        def scandir(path: Path) -> object:
            if str(path).endswith("锁住"):
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
        code, out = cli(tree, "check", "政策")
    else:
        os.chmod(tree / "政策" / "锁住", 0)
        try:
            code, out = cli(tree, "check", "政策")
        finally:
            os.chmod(tree / "政策" / "锁住", 0o755)
    assert code == 1 and "锁住" in out and "没有读取这个文件夹的权限" in out
    assert "检查了 1 个文件" in out


# ------------------------------------------------------------------ the resolver itself


def test_a_spelling_outside_the_roots_makes_no_system_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path.resolve()
    calls: list[str] = []

    def spy(name: str) -> object:
        real = getattr(os, name)

        def call(*args: object, **kw: object) -> object:
            calls.append(f"{name}{args}")
            return real(*args, **kw)
        return call

    monkeypatch.setattr(os, "stat", spy("stat"))
    monkeypatch.setattr(os, "lstat", spy("lstat"))  # what os.path.realpath calls
    for spelled in ("/etc/passwd", str(root / ".." / "x.ybl"), "/" + "x" * 300):
        found = resolve([Path(spelled)], [root])
        assert isinstance(found, Refusal) and found.kind in ("missing", "too-long")
    assert calls == []


def test_resolve_follows_links_and_confines_the_real_file(tmp_path: Path) -> None:
    root = (tmp_path / "r").resolve()
    (root / "a").mkdir(parents=True)
    (tmp_path / "out.ybl").write_text("x", encoding="utf-8")
    (root / "a" / "in.ybl").write_text("x", encoding="utf-8")
    (root / "inner.ybl").symlink_to(root / "a" / "in.ybl")
    (root / "outer.ybl").symlink_to(tmp_path / "out.ybl")
    (root / "loop.ybl").symlink_to(root / "loop.ybl")
    assert resolve([root / "inner.ybl"], [root]) == root / "a" / "in.ybl"
    assert resolve([root / "outer.ybl"], [root]) == Refusal("missing", paths.MISSING)
    assert resolve([root / "loop.ybl"], [root]) == Refusal("missing", paths.MISSING)
    assert resolve([root / "nope.ybl", root / "inner.ybl"], [root]) == root / "a" / "in.ybl"  # first that exists
    assert resolve([root / "a"], [root]).kind == "folder"  # type: ignore[union-attr]


def test_read_limited_reads_at_most_one_byte_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "grows.ybl"
    path.write_bytes(b"x" * 10_000)
    assert read_limited(path, 10_000) == b"x" * 10_000
    with pytest.raises(ReadRefused) as refused:
        read_limited(path, 100)
    assert refused.value.refusal.kind == "too-large"
    # A file that grows after its size was taken: still no more than limit + 1 bytes are read.
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: os.stat_result((*real_stat(p)[:6], 10, *real_stat(p)[7:])))
    read: list[int] = []
    real_read = os.read

    def counted(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counted)
    with pytest.raises(ReadRefused):
        read_limited(path, 100)
    assert sum(read) <= 101


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null"])
def test_devices_are_refused_from_stat(special: str) -> None:
    with pytest.raises(ReadRefused) as refused:
        read_limited(special, 1024)
    assert refused.value.refusal.kind == "special"


def test_walk_follows_links_to_folders_inside_once(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "a").mkdir(parents=True)
    (root / "yibaolang.toml").write_text("", encoding="utf-8")
    (root / "a" / "x.ybl").write_text("", encoding="utf-8")
    (root / "b").symlink_to(root / "a")
    (root / "a" / "back").symlink_to(root)  # a loop
    files, skipped = walk_policies([str(root)])
    assert [Path(f).name for f in files] == ["x.ybl"]
    assert skipped == []


def test_walk_leaves_hidden_folders_alone(tmp_path: Path) -> None:
    # A virtual environment inside the project holds links out of it (bin/python); nothing there is a policy.
    root = tmp_path / "r"
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / "yibaolang.toml").write_text("", encoding="utf-8")
    (root / "x.ybl").write_text("", encoding="utf-8")
    (root / ".venv" / "bin" / "python").symlink_to("/usr/bin/python3")
    (root / ".venv" / "y.ybl").write_text("", encoding="utf-8")
    files, skipped = walk_policies([str(root)])
    assert [Path(f).name for f in files] == ["x.ybl"]
    assert skipped == []


def test_data_files_for_table_options_are_confined_to_the_project(tree: Path) -> None:
    """The resolver a --table option reads its data file through."""
    write(tree / "表.csv", "甲,乙\n")
    assert resolve_data_file(tree / "表.csv", tree) == (tree / "表.csv").resolve()
    assert isinstance(resolve_data_file(tree.parent / "外部" / "秘密.ybl", tree), Refusal)
    os.mkfifo(tree / "管道.csv")
    assert resolve_data_file(tree / "管道.csv", tree) == Refusal("special", "不是普通文件（是管道、套接字或设备），不会读取")


def test_project_settings_are_read_within_bounds(tree: Path) -> None:
    """The project's pyproject.toml is read by `check` too: a huge or special one is skipped, not read whole."""
    sparse(tree / "pyproject.toml", 3 * 1024 ** 3)
    write(tree / "p.ybl", "定义 甲 = 1\n")
    result = process(tree, "check", "p.ybl", memory=1024 ** 3)
    assert result.returncode == 0, result.stdout + result.stderr
    (tree / "pyproject.toml").unlink()
    os.mkfifo(tree / "pyproject.toml")
    result = process(tree, "check", "p.ybl")
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------ properties


PARTS = st.sampled_from(["..", ".", "a", "b.ybl", "链接", "外", "", "x" * 256, "/etc", "\x00"])


@settings(max_examples=200, deadline=None)
@given(st.lists(PARTS, min_size=1, max_size=8), st.booleans())
def test_resolve_never_leaves_the_roots_and_never_raises(parts: list[str], absolute: bool) -> None:
    import tempfile

    base = Path(tempfile.gettempdir()).resolve() / "yb-roots-property"
    root = base / "根"
    (root / "a").mkdir(parents=True, exist_ok=True)
    (base / "外").mkdir(exist_ok=True)
    for name in ("b.ybl", "a/b.ybl"):
        (root / name).touch()
    link = root / "链接"
    if not link.is_symlink():
        link.symlink_to(base / "外")
    spelled = ("/" if absolute else "") + "/".join(parts)
    found = resolve([root / spelled], [root])
    if isinstance(found, Path):
        assert found == found.resolve() and root in found.parents and found.is_file()
    else:
        assert found.kind in ("missing", "too-long", "folder")


def test_test_dir_reports_what_it_skips_and_never_blocks(tree: Path) -> None:
    (tree / "政策").mkdir()
    write(tree / "政策" / "好.ybl", "定义 甲 = 1\n样例 \"一\"\n    期望 甲 = 1\n")
    os.mkfifo(tree / "政策" / "管道.ybl")
    (tree / "政策" / "外链.ybl").symlink_to(tree.parent / "外部" / "秘密.ybl")
    result = process(tree, "test", "政策")  # a FIFO used to block `test DIR` forever
    assert result.returncode == 1
    assert "管道.ybl" in result.stderr and "外链.ybl" in result.stderr and "秘密数额" not in result.stdout
    assert result.stdout.strip().endswith("1 passed, 2 failed")
