"""The CLI run in-process from a chosen folder, for tests whose output prints paths relative to it."""

from __future__ import annotations

import contextlib
from pathlib import Path

from click.testing import CliRunner, Result

from yibaolang.tools.cli import main


def invoke_in(folder: Path, *args: str) -> Result:
    """`yibaolang ARGS` with `folder` as the working directory; an exception escapes (no exit 70 hidden)."""
    with contextlib.chdir(folder):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
