"""The language server on a 10,000-line policy, through a real LSP client over stdio (issue 15).

    python benchmarks/lsp_bench.py [--lines 10000] [--rounds 15]

Prints medians of: an edit inside a line → its diagnostics; a new line
inserted → its diagnostics; a hover sent right after an edit → its answer;
and an edit → the lints' diagnostics.  Targets: edit to diagnostics ≤ 300 ms,
hover ≤ 50 ms.  The server is `python -m yibaolang lsp` from this interpreter,
so `PYTHONPATH=/path/to/other/checkout` measures another version of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lsprotocol.types as lsp
from pygls.lsp.client import BaseLanguageClient
from pygls.uris import from_fs_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_policy import generate

PARTIAL = getattr(lsp, "TextDocumentContentChangePartial", None) or lsp.TextDocumentContentChangeEvent_Type1


class Bench:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.client = BaseLanguageClient("lsp-bench", "1")
        self.published: dict[int | None, list[float]] = {}
        self.arrived = asyncio.Event()

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: Any) -> None:
            self.published.setdefault(params.version, []).append(time.perf_counter())
            self.arrived.set()

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "yibaolang", "lsp", cwd=str(self.folder))
        await self.client.initialize_async(lsp.InitializeParams(
            process_id=os.getpid(), root_uri=str(from_fs_path(str(self.folder))),
            capabilities=lsp.ClientCapabilities()))
        self.client.initialized(lsp.InitializedParams())

    async def diagnostics_of(self, version: int, timeout: float = 120.0) -> float:
        deadline = time.perf_counter() + timeout
        while version not in self.published:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), max(deadline - time.perf_counter(), 0.01))
        return self.published[version][0]

    async def last_of(self, version: int, quiet: float = 5.0, timeout: float = 60.0) -> float:
        """When the last diagnostics of `version` came (the lints come after the rest): none for `quiet` s."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), quiet)
            except TimeoutError:
                break
        return self.published[version][-1]

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def edit(uri: str, version: int, line: int, start: int, end: int, text: str) -> lsp.DidChangeTextDocumentParams:
    where = lsp.Range(start=lsp.Position(line=line, character=start), end=lsp.Position(line=line, character=end))
    return lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[PARTIAL(range=where, text=text)])


async def run(lines: int, rounds: int) -> dict[str, list[float]]:
    folder = Path(tempfile.mkdtemp(prefix="lsp-bench-"))
    (folder / "yibaolang.toml").write_text("", "utf-8")
    text = generate(lines)
    path = folder / "大政策.ybl"
    path.write_text(text, "utf-8")
    uri = str(from_fs_path(str(path)))
    rows = text.split("\n")
    bench = Bench(folder)
    await bench.start()
    started = time.perf_counter()
    bench.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="yibaolang", version=1, text=text)))
    await bench.diagnostics_of(1)
    print(f"open → first diagnostics: {(time.perf_counter() - started) * 1000:.0f} ms", flush=True)
    await asyncio.sleep(6)  # let the first lints finish

    # A parameter in the middle of the file, and a use of a name a few statements further on.
    target = next(i for i in range(len(rows) // 2, len(rows)) if rows[i].lstrip().startswith("参数 起付线"))
    value_at = rows[target].index("= ") + 2
    use = next(i for i in range(target + 40, len(rows)) if "取较大(费用" in rows[i])
    use_column = rows[use].index("取较大(费用") + len("取较大(")

    figures: dict[str, list[float]] = {"edit": [], "newline": [], "hover": [], "lints": []}
    version = 1
    for round_ in range(rounds):
        # Typing a digit into the parameter's value (and removing it again on odd rounds).
        version += 1
        digit = str(round_ % 10)
        sent = time.perf_counter()
        if round_ % 2 == 0:
            bench.client.text_document_did_change(edit(uri, version, target, value_at, value_at, digit))
        else:
            bench.client.text_document_did_change(edit(uri, version, target, value_at, value_at + 1, ""))
        hover_sent = time.perf_counter()
        answer = await bench.client.text_document_hover_async(lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            position=lsp.Position(line=use, character=use_column)))
        figures["hover"].append(time.perf_counter() - hover_sent)
        assert answer is not None and "费用" in answer.contents.value, answer
        figures["edit"].append(await bench.diagnostics_of(version) - sent)
        figures["lints"].append(await bench.last_of(version) - sent)
        # A new line above the parameter, then removed: every statement below moves.
        version += 1
        sent = time.perf_counter()
        if round_ % 2 == 0:
            bench.client.text_document_did_change(edit(uri, version, target - 1, 0, 0, "\n"))
            rows.insert(target - 1, "")
        else:
            bench.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[PARTIAL(range=lsp.Range(start=lsp.Position(line=target - 2, character=0),
                                                         end=lsp.Position(line=target - 1, character=0)),
                                         text="")]))
            rows.pop(target - 2)
        figures["newline"].append(await bench.diagnostics_of(version) - sent)
        target, use = (target + 1, use + 1) if round_ % 2 == 0 else (target - 1, use - 1)
        await asyncio.sleep(0.3)
    await bench.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    figures = asyncio.run(run(args.lines, args.rounds))
    labels = {"edit": "edit in a line → diagnostics", "newline": "new line → diagnostics",
              "hover": "hover right after an edit", "lints": "edit → diagnostics with the lints"}
    for key, label in labels.items():
        values = figures[key]
        print(f"{label:36} median {statistics.median(values) * 1000:7.0f} ms   "
              f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n={len(values)})")


if __name__ == "__main__":
    main()
