"""The parse cache: same IR as parsing, invalidated by any change, trusting nothing it reads."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from yibaolang import paths
from yibaolang.frontend import cache, syntax
from yibaolang.frontend.source import from_text

TEXT = "输入 费用 : 金额\n条款 \"一\" 标题\n    原文 \"报销50%\"\n    定义 甲 = 费用 × 50%\n输出 甲\n"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("YIBAOLANG_NO_CACHE", raising=False)
    paths.cache_dir.cache_clear()
    cache._key.cache_clear()
    yield tmp_path / "xdg" / "yibaolang"
    paths.cache_dir.cache_clear()
    cache._key.cache_clear()


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
    paths.cache_dir.cache_clear()
    assert paths.cache_dir() is None
    cache.parse(from_text("p.ybl", TEXT))  # still parses, just without the cache
    assert entries(cache_home) == []


def test_the_cache_can_be_turned_off(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAOLANG_NO_CACHE", "1")
    cache.parse(from_text("p.ybl", TEXT))
    assert not cache_home.exists() or entries(cache_home) == []


# ------------------------------------------------------------------ trusting nothing it reads


def test_a_corrupted_truncated_or_foreign_entry_is_a_miss(cache_home: Path) -> None:
    source = from_text("p.ybl", TEXT)
    expected = cache.parse(source)
    (entry,) = entries(cache_home)
    good = entry.read_bytes()
    foreign = pickle.dumps(expected)  # a well-formed pickle, but not signed with this user's key
    flipped = good[:-5] + bytes([good[-5] ^ 1]) + good[-4:]
    for damaged in (b"", good[:10], good[: len(good) // 2], flipped, foreign, cache.MAGIC + b"\0" * 32 + foreign):
        entry.write_bytes(damaged)
        assert cache.parse(source) == expected
        assert entry.read_bytes() == good  # parsed again and stored again


class Boom:
    """Unpickling this runs code: the cache must never do it for an entry it did not write."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['BOOM']).write_text('ran')",))


def test_an_entry_that_would_run_code_is_never_unpickled(cache_home: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "boom"
    monkeypatch.setenv("BOOM", str(marker))
    source = from_text("p.ybl", TEXT)
    expected = cache.parse(source)
    (entry,) = entries(cache_home)
    entry.write_bytes(cache.MAGIC + b"\0" * cache.TAG_BYTES + pickle.dumps(Boom()))
    assert cache.parse(source) == expected
    assert not marker.exists()


def test_an_authentic_entry_of_the_wrong_type_is_a_miss(cache_home: Path) -> None:
    """Content signed with the right key but of the wrong shape (a stale or buggy writer) still parses."""
    source = from_text("p.ybl", TEXT)
    expected = cache.parse(source)
    (entry,) = entries(cache_home)
    key = cache._key(cache_home)
    assert key is not None
    for wrong in ("text", (1, 2), (expected[0], "not a list"), (expected[0], [1, 2]), [expected[0], expected[1]]):
        payload = pickle.dumps(wrong)
        entry.write_bytes(cache.MAGIC + cache._tag(key, entry, payload) + payload)
        assert cache.parse(source) == expected


def test_an_entry_copied_from_another_name_is_a_miss(cache_home: Path) -> None:
    one, other = from_text("p.ybl", TEXT), from_text("q.ybl", TEXT.replace("50%", "70%"))
    cache.parse(one)
    cache.parse(other)
    entry_one, entry_other = (cache._entry(s) for s in (one, other))
    assert entry_one is not None and entry_other is not None
    entry_one.write_bytes(entry_other.read_bytes())  # authentic, but for another file
    assert cache.parse(one) == syntax.parse(one)


def test_a_fifo_in_place_of_an_entry_is_a_miss_and_does_not_block(cache_home: Path) -> None:
    source = from_text("p.ybl", TEXT)
    expected = cache.parse(source)
    (entry,) = entries(cache_home)
    entry.unlink()
    os.mkfifo(entry)
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(cache.parse(source)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "reading a FIFO in the cache blocked"
    assert result == [expected]


def test_the_key_is_private_and_an_unsafe_key_turns_the_cache_off(cache_home: Path) -> None:
    source = from_text("p.ybl", TEXT)
    cache.parse(source)
    key = cache_home / "key"
    assert oct(key.stat().st_mode & 0o777) == "0o600" and key.stat().st_size == cache.KEY_BYTES
    os.chmod(key, 0o644)
    cache._key.cache_clear()
    assert cache._key(cache_home) is None
    for entry in entries(cache_home):
        entry.unlink()
    assert cache.parse(source) == syntax.parse(source)
    assert entries(cache_home) == []  # nothing stored without a trusted key


def test_a_change_of_the_ir_code_is_a_new_entry(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = from_text("p.ybl", TEXT)
    cache.parse(source)
    monkeypatch.setattr(cache, "code_digest", lambda: "another build")
    cache.parse(source)
    assert len(entries(cache_home)) == 2


def test_the_code_digest_covers_the_ir_and_front_end_sources() -> None:
    assert len(cache.code_digest()) == 64
    covered = [p for name in cache._IR_SOURCES for p in ((cache._PACKAGE / name).rglob("*.py")
                                                        if (cache._PACKAGE / name).is_dir() else [cache._PACKAGE / name])]
    assert {p.name for p in covered} >= {"nodes.py", "lower.py", "syntax.py", "source.py", "diagnostics.py"}


def test_a_cache_hit_does_not_import_lark(tmp_path: Path) -> None:
    policy = tmp_path / "p.ybl"
    policy.write_text(TEXT, encoding="utf-8")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("YIBAOLANG_NO_CACHE", None)
    code = ("import sys; from yibaolang.checks.compiler import compile_policy; "
            f"p = compile_policy({str(policy)!r}); print('lark' in sys.modules, len(p.diagnostics))")
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert first.stdout.split() == ["True", "0"], first.stderr
    assert again.stdout.split() == ["False", "0"], again.stderr


def test_a_folder_others_can_read_is_made_private(cache_home: Path) -> None:
    cache_home.mkdir(parents=True)
    os.chmod(cache_home, 0o755)
    paths.cache_dir.cache_clear()
    assert paths.cache_dir() == cache_home
    assert oct(cache_home.stat().st_mode & 0o777) == "0o700"


def test_the_cache_is_bounded_and_evicts_the_least_recently_used(cache_home: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_CACHE_ENTRIES", 8)
    sources = [from_text(f"p{i}.ybl", TEXT) for i in range(8)]
    for source in sources:
        cache.parse(source)
    assert len(entries(cache_home)) == 8
    # Age every entry, then use the first one again: a hit refreshes it.
    for n, entry in enumerate(entries(cache_home)):
        os.utime(entry, (1_000_000 + n, 1_000_000 + n))
    first = cache._entry(sources[0])
    assert first is not None and first.exists()
    cache.parse(sources[0])
    cache.parse(from_text("p8.ybl", TEXT))  # the ninth entry: over the bound, down to 6
    left = entries(cache_home)
    assert len(left) == 6
    assert first in left  # recently used, kept
    assert (cache_home / "key").exists()  # the key is not an entry


def test_eviction_by_size_leaves_other_files_alone(cache_home: Path) -> None:
    cache.parse(from_text("p.ybl", TEXT))
    other = cache_home / "notes.txt"
    other.write_text("not the cache's", encoding="utf-8")
    for n in range(5):
        cache.parse(from_text(f"q{n}.ybl", TEXT))
    size = sum(e.stat().st_size for e in entries(cache_home))
    assert cache.evict(cache_home, max_bytes=size // 2) >= 3
    assert sum(e.stat().st_size for e in entries(cache_home)) <= size // 2 * 3 // 4
    assert other.exists() and (cache_home / "key").exists()
    assert cache.evict(cache_home) == 0  # under the real bound: nothing to do
