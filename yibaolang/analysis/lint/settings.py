"""What is wrong with a project's `[tool.yibaolang]` (or yibaolang.toml): typos, unknown codes, bad values.

`load_config` (context.py) reads the settings; `problems` says, as YB008
warnings at the line of the setting, what it had to ignore, so a misspelt
`disabel` or a `severity` of "warn" no longer goes unnoticed (docs/lints.md).
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path
from typing import Any

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic, closest, warning

LEVELS = ("error", "warning", "info")
# Each known key and what its value must be: the check and how the docs describe it.
KEYS: dict[str, str] = {
    "disable": "代码的列表，如 [\"YB561\"]",
    "severity": "代码 = \"error\"、\"warning\" 或 \"info\" 的表",
    "expense-words": "词的列表，如 [\"费用\", \"负担\"]",
    "payment-words": "词的列表，如 [\"支付\", \"报销\"]",
    "search-points": "正整数，如 200",
    "search-budget": "正整数，如 20000",
    "seed": "整数，如 20260101",
    "exclude": "路径或通配符的列表，如 [\"tests/golden\"]",
}


@functools.cache
def lint_codes() -> frozenset[str]:
    """The codes the lints can report (the only ones `disable` and `severity` act on)."""
    folder = Path(__file__).resolve().parent
    found: set[str] = set()
    for module in folder.glob("*.py"):
        found.update(re.findall(r"\"(YB5\d\d)\"", module.read_text(encoding="utf-8")))
    return frozenset(found)


def _line_of(text: str, needle: str) -> int:
    """The line of a key or value in the file (1 when it cannot be found)."""
    pattern = re.compile(rf"^\s*\"?{re.escape(needle)}\"?\s*=", re.MULTILINE)
    m = pattern.search(text) or re.search(re.escape(f'"{needle}"'), text)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def _shown(path: Path) -> str:
    """The settings file as the user would name it: relative to the working folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _is_list_of_str(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def problems(data: dict[str, Any], path: Path, text: str) -> tuple[list[Diagnostic], set[str]]:
    """YB008 warnings for every setting of `data` (read from `path`, whose text is `text`) that is ignored,
    and the keys whose whole value is ignored (they keep their defaults)."""
    out: list[Diagnostic] = []
    rejected: set[str] = set()

    shown = _shown(path)

    def warn(needle: str, message: str, hint: str) -> None:
        line = _line_of(text, needle)
        out.append(warning("YB008", ir.Span(shown, line, 1, line, 2), message, hint))

    codes = lint_codes()
    for key, value in data.items():
        if key not in KEYS:
            guess = closest(key, list(KEYS))
            warn(key, f"未知的配置项“{key}”，已忽略",
                 f"是否想写 {guess}？" if guess else "可用的配置项：" + "、".join(KEYS))
            continue
        if key in ("disable", "expense-words", "payment-words", "exclude") and not _is_list_of_str(value):
            warn(key, f"配置项 {key} 的值应为{KEYS[key]}，已忽略", f"例如 {key} = {KEYS[key].split('如 ')[-1]}")
            rejected.add(key)
            continue
        if key in ("search-points", "search-budget") and not (
                isinstance(value, int) and not isinstance(value, bool) and value > 0):
            warn(key, f"配置项 {key} 应为正整数，而不是 {value!r}，已忽略", KEYS[key])
            rejected.add(key)
            continue
        if key == "seed" and not (isinstance(value, int) and not isinstance(value, bool)):
            warn(key, f"配置项 seed 应为整数，而不是 {value!r}，已忽略", KEYS[key])
            rejected.add(key)
            continue
        if key == "severity" and not isinstance(value, dict):
            warn(key, "配置项 severity 应为一个表（[tool.yibaolang.severity]），已忽略", KEYS[key])
            rejected.add(key)
            continue
        named = list(value) if key in ("disable", "severity") else []
        for code in named:
            if str(code) not in codes:
                guess = closest(str(code), sorted(codes))
                warn(str(code), f"{key} 中的“{code}”不是一致性检查的代码，已忽略",
                     f"是否想写 {guess}？" if guess else "disable 和 severity 只作用于 YB5xx 代码（见 docs/lints.md）")
        if key == "severity":
            for code, level in value.items():
                if str(level) not in LEVELS:
                    guess = next((lv for lv in LEVELS if lv.startswith(str(level).lower())), None) or closest(
                        str(level), list(LEVELS))
                    warn(str(code), f"severity 中 {code} 的级别“{level}”无效，已忽略",
                         (f"是否想写 \"{guess}\"？" if guess else "") + "级别只能是 error、warning 或 info")
    return out, rejected


def unreadable(path: Path, exc: Exception) -> Diagnostic:
    """A settings file that is not valid TOML: its settings are all ignored, which must not pass unseen."""
    m = re.search(r"line (\d+), column (\d+)", str(exc))
    line, column = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
    return warning("YB008", ir.Span(_shown(path), line, column, line, column + 1),
                   f"{path.name} 不是有效的 TOML，其中的 yibaolang 配置全部被忽略",
                   "检查引号、等号和方括号；例如 disable = [\"YB561\"]")


def is_excluded(path: Path, root: Path, patterns: tuple[str, ...]) -> bool:
    """Whether `exclude` leaves `path` out: a pattern names a folder (everything under it) or a glob.

    >>> is_excluded(Path("/p/tests/golden/fmt/a.ybl"), Path("/p"), ("tests/golden",))
    True
    >>> is_excluded(Path("/p/tests/conformance/arith/bad/x.ybl"), Path("/p"), ("tests/conformance/*/bad",))
    True
    >>> is_excluded(Path("/p/policies/a.ybl"), Path("/p"), ("tests/golden", "*.draft.ybl"))
    False
    """
    import fnmatch

    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return False
    parts = relative.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]  # the path and each folder above it
    for pattern in patterns:
        clean = pattern.strip("/")
        if any(fnmatch.fnmatchcase(p, clean) for p in prefixes) or fnmatch.fnmatchcase(path.name, clean):
            return True
    return False


def read_settings(root: Path) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The settings of the project at `root`, without those problems() rejects, and the YB008 warnings."""
    from yibaolang.paths import ReadRefused, read_limited

    found: list[Diagnostic] = []
    for name, key in (("pyproject.toml", ("tool", "yibaolang")), ("yibaolang.toml", ())):
        path = root / name
        if not path.is_file():
            continue
        try:  # kind and size before reading (yibaolang.paths): a FIFO or a huge file is never read
            text = read_limited(path, 1024 * 1024).decode("utf-8")
            loaded: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found.append(unreadable(path, exc))
            continue
        except (ReadRefused, UnicodeDecodeError):
            continue
        for part in key:
            loaded = loaded.get(part, {}) if isinstance(loaded, dict) else {}
        if isinstance(loaded, dict) and loaded:
            more, rejected = problems(loaded, path, text)
            # A rejected value keeps its default rather than half-applying.
            return {k: v for k, v in loaded.items() if k not in rejected}, found + more
    return {}, found


def excluded(folder: Path) -> tuple[Path, tuple[str, ...]]:
    """The project root above `folder` and its `exclude` patterns (relative to that root)."""
    from yibaolang.paths import find_project_root

    root = find_project_root(folder)
    data, _ = read_settings(root)
    return root, tuple(data.get("exclude", ()))
