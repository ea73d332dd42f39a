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
    words = set(_QUOTED.findall(grammar_file().read_text("utf-8")))
    return tuple(sorted(words, key=lambda w: (-len(w), w)))
