"""The language server's index (yibaolang.tools.navigate) over every seed policy and example.

Each mention must cover exactly the text of the name it refers to, every
mention of a declared thing must lead to its declaration, and hover, the
outline and completion must work on all of them.  The protocol side is tested
end to end in test_lsp.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from yibaolang.analysis.lint import check_policy
from yibaolang.checks.compiler import compile_policy
from yibaolang.semantics.levels import local_name
from yibaolang.tools.navigate import Navigator, Target

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*ROOT.glob("policies/**/*.ybl"), *ROOT.glob("examples/**/*.ybl")])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_mention_names_what_it_refers_to(path: Path) -> None:
    program = check_policy(path)
    nav = Navigator(program)
    assert nav.mentions[program.root.path], "no mention indexed"
    for module, mentions in nav.mentions.items():
        lines = nav.lines[module]
        for mention in mentions:
            kind, key = mention.target.kind, mention.target.key
            if kind in ("symbol", "value", "type", "local", "builtin", "primitive"):
                # A line or fund figure (明细.明细金额) may be written without its level inside its list's lines.
                assert lines.text_of(mention.span) in (key[-1], local_name(key[-1])), (module, mention)
            if kind not in ("builtin", "primitive", "word"):
                assert nav.definition(mention.target) is not None, (module, mention)
            assert nav.hover(mention.target, module)
    assert nav.outline(program.root.path)
    assert any(c.kind == "keyword" for c in nav.completions(program.root.path, 1, 1))


def test_references_find_uses_in_importing_and_imported_files() -> None:
    program = compile_policy(ROOT / "policies" / "tianjin_2016.ybl")
    nav = Navigator(program)
    stdlib = next(m for m in program.modules if m.endswith("医保通用.ybl"))
    spans = nav.references(Target(("symbol", stdlib, "起付比例封顶")))
    assert {s.file for s in spans} == {stdlib, program.root.path}
    assert nav.references(Target(("value", stdlib, "参保类别", "职工")))


def test_every_keyword_has_its_hover_text() -> None:
    from yibaolang.frontend.keywords import keywords
    from yibaolang.semantics.keyword_help import KEYWORDS, keyword_help

    assert sorted(set(keywords()) - set(KEYWORDS)) == []
    assert sorted(set(KEYWORDS) - set(keywords())) == []  # no entry for a word that is not a keyword
    for word in keywords():
        assert keyword_help(word).startswith(f"**{word}**：")
