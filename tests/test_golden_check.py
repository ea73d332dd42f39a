"""Golden files for `yibaolang check` (bad programs) and `yibaolang ir` (good programs).

Each tests/golden/check/bad/YBnnn_*.ybl is a program whose diagnostics are
pinned in the .out beside it; its name starts with the code it must produce.
Files named lib_* are imported by others and not checked on their own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.runner import invoke_in

HERE = Path(__file__).resolve().parent
BAD = HERE / "golden" / "check" / "bad"
GOOD = HERE / "golden" / "check" / "good"

BAD_FILES = sorted(p for p in BAD.glob("*.ybl") if not p.name.startswith("lib_"))
GOOD_FILES = sorted(p for p in GOOD.glob("*.ybl") if not p.name.startswith("lib_"))


def run_in(folder: Path, *args: str) -> tuple[int, str]:
    """Run the CLI with `folder` as the working directory, so paths print relative."""
    result = invoke_in(folder, *args)
    return result.exit_code, result.stdout


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_program_diagnostics(path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    code, out = run_in(BAD, "check", path.name)
    assert code == 1
    expected_code = path.stem.split("_", 1)[0]
    assert f"[{expected_code}]" in out, out
    assert "Traceback" not in out
    golden(path.with_suffix(".out"), out)


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_program_json(path: Path) -> None:
    import json

    code, out = run_in(BAD, "check", "--format", "json", path.name)
    assert code == 1
    data = json.loads(out)
    assert data["schema"] == "yibaolang.diagnostics/1"
    codes = {d["code"] for d in data["diagnostics"]}
    assert path.stem.split("_", 1)[0] in codes
    for d in data["diagnostics"]:
        assert set(d) >= {"code", "severity", "message", "file", "line", "column", "end_line", "end_column",
                          "clause", "hint"}
        assert d["line"] >= 1 and d["column"] >= 1


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda p: p.stem)
def test_good_program_ir(path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    code, out = run_in(GOOD, "ir", path.name)
    assert code == 0, out
    golden(path.with_suffix(".ir.json"), out)
    code, out = run_in(GOOD, "check", path.name)
    assert code == 0, out


def test_every_front_end_code_has_a_bad_program() -> None:
    """Each YB0xx–YB3xx code the front end can emit is pinned by a golden file."""
    source = "".join((HERE.parent / "yibaolang" / name).read_text("utf-8") for name in
                     ("frontend/source.py", "frontend/syntax.py", "frontend/lower.py", "checks/resolve.py", "checks/typecheck.py"))
    emitted = set(re.findall(r'"(YB[0-3]\d\d)"', source))
    covered = {p.stem.split("_", 1)[0] for p in BAD_FILES}
    # Limits that need generated input (size, import count, unreadable file) are tested in test_limits.py.
    generated = {"YB001", "YB003", "YB006"}
    assert emitted - covered - generated == set()
