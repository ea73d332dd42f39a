"""The language's Chinese keywords, read from the grammar without loading Lark.

>>> "如果" in keywords() and "规则" not in keywords()
True
"""

from __future__ import annotations

import functools
import re

from yibaolang.paths import grammar_file

_QUOTED = re.compile(r'"([\u3400-\u9fff]+)"')


@functools.cache
def keywords() -> tuple[str, ...]:
    """Every keyword, longest first (the order the spacing hint tries them in)."""
    # Comments (`// …`) may quote words of a policy ("数据文件") that are not keywords.
    text = re.sub(r"(?m)^\s*//.*$", "", grammar_file().read_text("utf-8"))
    words = set(_QUOTED.findall(text))
    return tuple(sorted(words, key=lambda w: (-len(w), w)))
