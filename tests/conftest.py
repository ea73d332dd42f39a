"""Shared test fixtures: golden files and CLI runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from yibaolang.semantics.limits import ensure_recursion_limit

# The evaluator raises the recursion limit to what its budget needs (semantics/limits.py); doing it once
# here, before any test, keeps hypothesis from seeing the limit change inside a test.
ensure_recursion_limit()

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files with the current output (review the diff)")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def golden(update_golden: bool):  # type: ignore[no-untyped-def]
    """golden(path, actual): compare with the file, or rewrite it under --update-golden."""

    def check(path: Path, actual: str) -> None:
        if update_golden or not path.exists():
            if not update_golden:
                pytest.fail(f"golden file {path} is missing; run pytest --update-golden and review it")
            path.write_text(actual, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from {path.relative_to(ROOT)} (pytest --update-golden to refresh)"

    return check
