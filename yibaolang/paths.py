"""Where the shipped data lives: inside the wheel, or beside the package in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`grammar` or `stdlib`: packaged copy first, then the source checkout's."""
    packaged = _PACKAGE / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def grammar_file() -> Path:
    return data_dir("grammar") / "yibaolang.lark"


def stdlib_dir() -> Path:
    return data_dir("stdlib")
