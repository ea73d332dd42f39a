"""The VS Code extension (editors/vscode): its grammar tokenized by VS Code's own engine.

The tokenizing tests are JavaScript (`editors/vscode/test/*.test.js`, run with
`node --test` on vscode-textmate and vscode-oniguruma from npm); this wrapper
installs them with `npm ci` when node_modules is missing and runs them.  It is
skipped only where node or npm is not installed.  The grammar's keyword lists
are also checked against the parser's own keywords here, in Python.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from yibaolang.frontend.syntax import keywords

EXTENSION = Path(__file__).resolve().parent.parent / "editors" / "vscode"
GRAMMAR = EXTENSION / "syntaxes" / "yibaolang.tmLanguage.json"
NEEDED = ("vscode-textmate", "vscode-oniguruma")


def _patterns(node: object) -> list[str]:
    """Every match/begin regular expression in a grammar (sub)tree."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match", "begin") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_patterns(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_patterns(item))
    return found


def test_grammar_knows_every_keyword() -> None:
    grammar = json.loads(GRAMMAR.read_text("utf-8"))
    keyword_patterns = _patterns(grammar["repository"]["keyword"]) + _patterns(grammar["repository"]["literal"])
    keyword_patterns += _patterns(grammar["repository"]["priority"])
    missing = [
        word for word in keywords()
        if not any(re.search(rf"(?:^|[|(:]){re.escape(word)}(?:[|)])", p) for p in keyword_patterns)
    ]
    assert missing == [], f"keywords the TextMate grammar does not highlight: {missing}"


def test_manifest_names_the_language() -> None:
    manifest = json.loads((EXTENSION / "package.json").read_text("utf-8"))
    assert manifest["contributes"]["languages"][0]["id"] == "yibaolang"
    assert set(NEEDED) <= set(manifest["devDependencies"])  # and the packaging tools (build.sh)
    assert (EXTENSION / "package-lock.json").is_file()


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="node/npm not installed")
def test_grammar_tokenizes_with_vscode_textmate() -> None:
    modules = EXTENSION / "node_modules"
    if not all((modules / name / "package.json").is_file() for name in NEEDED):
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=EXTENSION, capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    done = subprocess.run(["node", "--test"], cwd=EXTENSION, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"node --test failed:\n{done.stdout[-20000:]}\n{done.stderr[-5000:]}"
    assert re.search(r"^# fail 0$", done.stdout, re.MULTILINE), done.stdout[-5000:]
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) >= 10
