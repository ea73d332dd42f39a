"""The parse cache: same IR as parsing, invalidated by any change, never trusted from a shared folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yibaolang.frontend import cache, syntax
from yibaolang.frontend.source import from_text

TEXT = "输入 费用 : 金额\n条款 \"一\" 标题\n    原文 \"报销50%\"\n    定义 甲 = 费用 × 50%\n输出 甲\n"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("YIBAOLANG_NO_CACHE", raising=False)
    cache.cache_dir.cache_clear()
    yield tmp_path / "xdg" / "yibaolang"
    cache.cache_dir.cache_clear()


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("ir-*.pickle"))


def test_cached_parse_equals_a_fresh_parse(cache_home: Path) -> None:
    source = from_text("p.ybl", TEXT)
    first = cache.parse(source)
    assert len(entries(cache_home)) == 1
    second = cache.parse(source)
    assert second == first == syntax.parse(source)
    assert oct(cache_home.stat().st_mode & 0o777) == "0o700"


def test_a_change_in_text_or_path_is_a_new_entry(cache_home: Path) -> None:
    cache.parse(from_text("p.ybl", TEXT))
    cache.parse(from_text("p.ybl", TEXT.replace("50%", "60%")))
    cache.parse(from_text("q.ybl", TEXT))
    assert len(entries(cache_home)) == 3


def test_a_damaged_entry_is_parsed_again(cache_home: Path) -> None:
    source = from_text("p.ybl", TEXT)
    expected = cache.parse(source)
    (entry,) = entries(cache_home)
    entry.write_bytes(b"not a pickle")
    assert cache.parse(source) == expected
    assert entry.read_bytes() != b"not a pickle"


def test_syntax_errors_come_back_from_the_cache(cache_home: Path) -> None:
    source = from_text("p.ybl", "定义 甲 = 1 +\n")
    _, first = cache.parse(source)
    _, again = cache.parse(source)
    assert [d.code for d in again] == [d.code for d in first] == ["YB100"]


def test_a_folder_others_can_write_is_not_used(cache_home: Path) -> None:
    cache_home.mkdir(parents=True)
    os.chmod(cache_home, 0o777)
    cache.cache_dir.cache_clear()
    assert cache.cache_dir() is None
    cache.parse(from_text("p.ybl", TEXT))  # still parses, just without the cache
    assert entries(cache_home) == []


def test_the_cache_can_be_turned_off(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAOLANG_NO_CACHE", "1")
    cache.parse(from_text("p.ybl", TEXT))
    assert not cache_home.exists() or entries(cache_home) == []
