"""The VS Code extension builds into a .vsix that holds what it must (editors/vscode/build.sh, as CI runs it).

Needs node and npm (CI has them; build.sh runs `npm ci` in a fresh checkout).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "editors" / "vscode"


def test_build_makes_a_vsix_with_the_bundled_client(tmp_path: Path) -> None:
    out = tmp_path / "yibaolang.vsix"
    done = subprocess.run([str(EXTENSION / "build.sh"), str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with zipfile.ZipFile(out) as package:
        names = set(package.namelist())
        manifest = json.loads(package.read("extension/package.json"))
        bundle = package.read("extension/dist/extension.js").decode("utf-8")
    assert {"extension/dist/extension.js", "extension/syntaxes/yibaolang.tmLanguage.json",
            "extension/language-configuration.json", "extension/LICENSE.txt", "extension.vsixmanifest"} <= names
    assert not [n for n in names if n.startswith(("extension/node_modules/", "extension/test/"))]
    assert manifest["main"] == "./dist/extension.js" and manifest["repository"]["url"]
    assert "yibaolang.restartServer" in bundle and 'require("vscode-languageclient' not in bundle
    assert manifest["contributes"]["configurationDefaults"]["[yibaolang]"]["editor.tabSize"] == 4
