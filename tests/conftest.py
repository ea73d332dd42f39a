"""Shared test fixtures: golden files, CLI runs from the project root, a running `yibaolang serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_serve_helpers import EXAMPLE_CASE, Server, policy_folder, serving
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


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the project root, where the examples' relative paths resolve (`pytestmark = usefixtures`)."""
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with `policies/` (policy_folder) and the example's `case.yaml`, one per test module."""
    tmp = tmp_path_factory.mktemp("serve")
    policy_folder(tmp)
    (tmp / "case.yaml").write_text(EXAMPLE_CASE.read_text("utf-8"), encoding="utf-8")
    return tmp


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    """`yibaolang serve policies` in `project`, logging decisions to `decisions.jsonl`."""
    with serving(project, "policies", "--decision-log", "decisions.jsonl", "--reload-interval", "0") as running:
        yield running


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """A throwaway PostgreSQL server for the session (tests/pg_server.py); no PostgreSQL installed is a failure."""
    from tests import pg_server as pg

    try:
        server = pg.start()
    except pg.PgMissing as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()
