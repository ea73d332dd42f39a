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
Unnamed blocks are checked as ``example.ybl``.
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
