"""Every policy example in the documentation passes `yibaolang check`.

A fenced block in docs/*.md whose info string starts with

- ```` ```ybl ```` must pass `yibaolang check` (exit 0);
- ```` ```ybl-error ```` must be rejected by `yibaolang check --strict` (exit 1:
  an error, or a warning of the consistency lints); codes written after the
  word (```` ```ybl-error YB201 ````) must each appear in the output.

A block may name its file with ``file=名称.ybl`` after the language word
(```` ```ybl file=基本医保.ybl ````).  The named blocks of a page are written
beside each block of that page before it is checked, so an example can
``引用`` or ``依据`` another one; when a page names two blocks alike, the
nearest one before the block being checked wins (else the first after it).
Unnamed blocks are checked as ``example.ybl``.  Any other fenced block that names its file
(```` ```csv file=医保目录.csv ````, a 目录's data) is written beside every block of its page too.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from yibaolang.tools.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"

_OPEN = re.compile(r"^```(ybl|ybl-error)(?:[ \t]+(.*))?$")
_CLOSE = re.compile(r"^```\s*$")
_CODE = re.compile(r"^YB\d{3}$")


@attrs.frozen
class Block:
    page: str  # file name inside docs/
    line: int  # line of the opening fence (1-based)
    kind: str  # ybl | ybl-error
    text: str
    file: str | None  # file=… of the fence, if any
    codes: tuple[str, ...]  # codes a ybl-error block must produce

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def extract(page: Path) -> list[Block]:
    """The ybl and ybl-error blocks of one Markdown page, in order."""
    blocks: list[Block] = []
    lines = page.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if match is None:
            i += 1
            continue
        start = i
        kind = match.group(1)
        words = (match.group(2) or "").split()
        file = next((w.split("=", 1)[1] for w in words if w.startswith("file=")), None)
        codes = tuple(w for w in words if _CODE.match(w))
        body: list[str] = []
        i += 1
        while i < len(lines) and not _CLOSE.match(lines[i]):
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"{page.name}:{start + 1}: code block is never closed"
        blocks.append(Block(page.name, start + 1, kind, "\n".join(body) + "\n", file, codes))
        i += 1
    return blocks


BLOCKS = [block for page in sorted(DOCS.glob("*.md")) for block in extract(page)]


def test_docs_have_examples() -> None:
    assert BLOCKS, "no ```ybl block found in docs/*.md"
    assert any(b.kind == "ybl" for b in BLOCKS)


def companions(block: Block) -> dict[str, str]:
    """The named blocks of the block's page, by file name, as seen from the block."""
    named = [b for b in BLOCKS if b.page == block.page and b.file is not None]
    files: dict[str, str] = {}
    for other in sorted(named, key=lambda b: (b.line > block.line, abs(b.line - block.line))):
        assert other.file is not None
        files.setdefault(other.file, other.text)
    return files


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.id)
def test_doc_block_checks(block: Block, tmp_path: Path) -> None:
    # A yibaolang.toml makes tmp_path the project root, so imports stay inside it.
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    for file, text in companions(block).items():
        (tmp_path / file).write_text(text, encoding="utf-8")
    for file, text in _named_blocks(DOCS / block.page).items():
        if not file.endswith(".ybl"):  # data files of the page (```csv file=医保目录.csv) beside the policy
            (tmp_path / file).write_text(text, encoding="utf-8")
    name = block.file or "example.ybl"
    (tmp_path / name).write_text(block.text, encoding="utf-8")

    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        args = ["check", name] if block.kind == "ybl" else ["check", "--strict", name]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    finally:
        os.chdir(old)
    output = result.output  # stdout and stderr, as a terminal shows them
    assert "Traceback" not in output
    if block.kind == "ybl":
        assert result.exit_code == 0, f"{block.id} should pass `yibaolang check`:\n{output}"
    else:
        assert result.exit_code == 1, f"{block.id} should be rejected by `yibaolang check --strict`:\n{output}"
        for code in block.codes:
            assert f"[{code}]" in output, f"{block.id} should report {code}:\n{output}"


# ---------------------------------------------------------------- console transcripts
#
# A ```console block is a transcript: each `$ yibaolang …` line is run and the lines after it are what
# it prints (standard output and error, as a terminal shows them).  A line starting with …… (or a lone …)
# stands for any number of lines the page leaves out.  `> 文件` at the end of a command sends its output
# to that file; `$ cat 文件` shows a file, `$ mkdir 文件夹` makes one; `$ pip install …` is shown, not run.
# Timings (用时 … 秒（… 行/秒）) are not compared.
#
# The files a transcript uses are the page's blocks before it: a block with `file=名称` defines that file;
# an unnamed ybl/ybl-error block defines the policy the next transcript names, an unnamed yaml block its
# --case file (if that transcript names none, the block is only an example).  HTML comments set up the rest:
# - `<!-- 改 文件：旧 → 新 -->` edits a file the way the prose says (the tutorial's "改第一处后再检查");
# - `<!-- 改 文件 为 新文件：旧 → 新 -->` writes the edited copy to 新文件 and leaves 文件 as it was;
# - `<!-- 文件 甲.ybl、乙.yaml 取自 页.md -->` takes those files from another page's file= blocks;
# - `<!-- 不运行：理由 -->` just before a block exempts it, and says why (a server that never exits,
#   a million-row file, a full disk).
# Every transcript runs in a fresh folder with the page's files and links to the repository's policies/,
# examples/, stdlib/ and tests/ (never in the checkout: a transcript's -o must not write into it).
ROOT = DOCS.parent

_FENCE = re.compile(r"^```(\S*)(?:[ \t]+(.*))?$")
_EDIT = re.compile(r"^<!-- 改 (\S+?)(?: 为 (\S+))?：(.+?) → (.+?) -->$")
_NOT_RUN = re.compile(r"^<!-- 不运行：(.+) -->$")
_BORROW = re.compile(r"^<!-- 文件 (.+) 取自 (\S+\.md) -->$")
_TIMING = re.compile(r"用时 [\d.]+ 秒（[\d,]+ 行/秒）")
_ELIDED = "……"


@attrs.frozen
class Transcript:
    page: str
    line: int
    text: str
    files: dict[str, str]

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    def commands(self) -> list[str]:
        return [line[2:] for line in _joined(self.text.splitlines()) if line.startswith("$ ")]


def _joined(lines: list[str]) -> list[str]:
    """Lines with a shell continuation (a trailing backslash) joined to the next one."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].endswith("\\"):
            out[-1] = out[-1][:-1] + line.lstrip()
        else:
            out.append(line)
    return out


def _named(args: list[str], suffixes: tuple[str, ...]) -> list[str]:
    return [a for a in args if a.endswith(suffixes)]


def _named_blocks(page: Path) -> dict[str, str]:
    """The blocks of a page that name their file, by name (the last one of a name wins)."""
    files: dict[str, str] = {}
    lines = page.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines):
        fence = _FENCE.match(line)
        name = next((w[5:] for w in ((fence and fence.group(2)) or "").split() if w.startswith("file=")), None)
        if name is not None:
            end = next(j for j in range(i + 1, len(lines)) if _CLOSE.match(lines[j]))
            files[name] = "\n".join(lines[i + 1 : end]) + "\n"
    return files


def transcripts(page: Path) -> list[Transcript]:
    import shlex

    lines = page.read_text(encoding="utf-8").split("\n")
    files: dict[str, str] = {}
    pending: dict[str, str] = {}  # kind (ybl | yaml) → text of the last unnamed block
    out: list[Transcript] = []
    explicit: set[str] = set()  # names file= blocks define after the pending ones: those stay as written
    exempt = False
    i = 0
    while i < len(lines):
        if _NOT_RUN.match(lines[i]):
            exempt = True
            i += 1
            continue
        borrow = _BORROW.match(lines[i])
        if borrow is not None:
            other = _named_blocks(DOCS / borrow.group(2))
            for name in re.split(r"[、，,\s]+", borrow.group(1)):
                assert name in other, f"{page.name}:{i + 1}: {borrow.group(2)} names no {name}"
                files[name] = other[name]
                explicit.add(name)
            i += 1
            continue
        edit = _EDIT.match(lines[i])
        if edit is not None:
            name, copy, old, new = edit.groups()
            assert old in files.get(name, ""), f"{page.name}:{i + 1}: {name} has no “{old}” to change"
            files[copy or name] = files[name].replace(old, new, 1)
            i += 1
            continue
        fence = _FENCE.match(lines[i])
        if fence is None or not fence.group(1):
            exempt = exempt and not lines[i].strip()
            i += 1
            continue
        skip, exempt = exempt, False
        start, kind = i, fence.group(1)
        words = (fence.group(2) or "").split()
        body: list[str] = []
        i += 1
        while i < len(lines) and not _CLOSE.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        text = "\n".join(body) + "\n"
        name = next((w.split("=", 1)[1] for w in words if w.startswith("file=")), None)
        if name is not None:
            files[name] = text
            explicit.add(name)
        elif kind in ("ybl", "ybl-error"):
            pending["ybl"] = text
            explicit = {n for n in explicit if not n.endswith(".ybl")}
        elif kind == "yaml":
            pending["yaml"] = text
            explicit = {n for n in explicit if not n.endswith(".yaml")}
        elif kind == "console" and not skip and any(line.startswith("$ yibaolang ") for line in body):
            args = [a for line in _joined(body) if line.startswith("$ ") for a in shlex.split(line[2:])]
            for suffix, key in ((".ybl", "ybl"), (".yaml", "yaml")):
                named = [a for a in _named(args, (suffix,)) if not (ROOT / a).exists() and a not in explicit]
                if key in pending and named:
                    files[named[0]] = pending.pop(key)
            pending.clear()  # a block is the setup of the next transcript only
            out.append(Transcript(page.name, start + 1, text, dict(files)))
    return out


TRANSCRIPTS = [t for page in sorted(DOCS.glob("*.md")) for t in transcripts(page)]


def expected_pattern(text: str) -> re.Pattern[str]:
    parts = []
    for line in text.splitlines():
        elided = line.strip().startswith(_ELIDED) or line.strip() == "…"
        parts.append(r"(?:[^\n]*\n)*?" if elided else re.escape(line) + r"\n")
    return re.compile("".join(parts))


def run_transcript(t: Transcript, folder: Path) -> str:
    import shlex

    (folder / "yibaolang.toml").write_text("", encoding="utf-8")
    for name, text in t.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    for name in ("policies", "examples", "stdlib", "tests"):
        if not (folder / name).exists():
            (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    shown = []
    old = os.getcwd()
    os.chdir(folder)
    try:
        written: list[str] = []  # a command as the page writes it, continuation lines included
        for line in t.text.splitlines():
            if not (written or line.startswith("$ ")):
                continue
            written.append(line)
            if line.endswith("\\"):
                continue
            args = shlex.split(_joined(written)[0][2:])
            shown.append("\n".join(written) + "\n" + _run(t, args))
            written = []
    finally:
        os.chdir(old)
    return "".join(shown)


def _run(t: Transcript, args: list[str]) -> str:
    """What one command of a transcript prints."""
    if args[:2] == ["pip", "install"]:
        return ""  # the page says what to install; the test environment has it already
    if args[0] == "mkdir":
        for a in args[1:]:
            if a != "-p":
                Path(a).mkdir(parents=True, exist_ok=True)
        return ""
    if args[0] == "cat":
        return "".join(Path(a).read_text(encoding="utf-8-sig") for a in args[1:])
    assert args[0] == "yibaolang", f"{t.id}: only yibaolang, cat, mkdir and pip install are understood"
    target = None
    if len(args) > 2 and args[-2] == ">":
        args, target = args[:-2], args[-1]
    result = CliRunner(env={"COLUMNS": None}).invoke(main, args[1:], prog_name="yibaolang", catch_exceptions=False)
    if target is None:
        return result.output
    Path(target).write_text(result.stdout, encoding="utf-8")
    return result.stderr


def test_transcript_pages_have_transcripts() -> None:
    pages = {t.page for t in TRANSCRIPTS}
    assert "tutorial.md" in pages and len(TRANSCRIPTS) >= 10


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda t: t.id)
def test_console_transcript_is_what_the_tool_prints(transcript: Transcript, tmp_path: Path) -> None:
    actual = _TIMING.sub("用时 …", run_transcript(transcript, tmp_path))
    assert expected_pattern(_TIMING.sub("用时 …", transcript.text)).fullmatch(actual), (
        f"{transcript.id}: the transcript differs from what the tool prints now:\n{actual}")


def test_the_tianjin_example_case_gives_every_input() -> None:
    """examples/tianjin_case.yaml says it gives every input the outputs need: it runs without a YB410."""
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(main, ["run", "policies/tianjin_2016.ybl", "--case", "examples/tianjin_case.yaml"])
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    assert "YB410" not in result.output
    assert "次年住院最高支付标准 = 301,800.00元" in result.output and "划入社会保障卡金额 = 140.00元" in result.output


def test_every_exemption_names_a_console_block_and_says_why() -> None:
    """A `<!-- 不运行：… -->` stands right above the transcript it exempts, so none is left out unnoticed."""
    seen = 0
    for page in sorted(DOCS.glob("*.md")):
        lines = page.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            match = _NOT_RUN.match(line)
            if match is not None:
                seen += 1
                assert match.group(1).strip(), f"{page.name}:{i + 1}: an exemption says why"
                assert i + 1 < len(lines) and lines[i + 1].startswith("```console"), (
                    f"{page.name}:{i + 1}: an exemption stands right above a ```console block")
    assert seen < len(TRANSCRIPTS) // 4, "most transcripts are run, not exempted"
