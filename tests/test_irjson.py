"""The JSON form of the IR (`yibaolang ir`, ir/irjson.py) round-trips: load(dump(m)) == m, spans included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.strategies import modules
from yibaolang import ir
from yibaolang.frontend import syntax
from yibaolang.frontend.source import from_text
from yibaolang.ir.irjson import dump, load, to_json

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(
    p for p in [*(ROOT / "tests" / "golden" / "check" / "good").glob("*.ybl"),
                *(ROOT / "tests" / "golden" / "fmt").glob("*.in.ybl"), *(ROOT / "stdlib").glob("*.ybl"),
                *(ROOT / "policies").rglob("*.ybl")]
    if not p.name.startswith("_")
)


def parsed(path: Path) -> ir.Module:
    module, _ = syntax.parse(from_text(str(path), path.read_text("utf-8")))
    return module


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_round_trips(path: Path) -> None:
    module = parsed(path)
    assert load(dump(module)) == module


def test_the_itemized_nodes_are_in_the_json_and_come_back() -> None:
    module = parsed(ROOT / "tests" / "golden" / "fmt" / "itemized.in.ybl")
    data = json.loads(dump(module))["module"]
    (catalog,) = data["catalogs"]
    assert catalog["node"] == "CatalogDecl" and catalog["key"]["node"] == "FieldDecl"
    assert catalog["valid_from"] == "生效日期" and catalog["path_span"] == "6:11-6:21"
    kinds: set[str] = set()

    def scan(x: Any) -> None:
        if isinstance(x, dict):
            kinds.add(x.get("node", ""))
            for v in x.values():
                scan(v)
        elif isinstance(x, list):
            for v in x:
                scan(v)

    scan(data)
    assert {"Aggregate", "Lookup", "FieldDecl", "CatalogDecl"} <= kinds
    back = load(dump(module))
    lines = next(i for i in back.inputs if i.name == "明细")
    assert [f.name for f in lines.fields] == ["编码", "数量", "单价"]
    fund = next(i for i in back.inputs if i.scope == ir.FUND)
    assert fund.name == "参保人数"
    per_line = next(d for d in back.definitions if d.display == "明细.是甲类")
    assert isinstance(per_line.expr, ir.Compare) and per_line.expr.right == ir.Literal(
        ir.LiteralKind.TEXT, "XB01", '"XB01"', per_line.expr.right.span)


def test_a_dump_of_another_schema_is_refused() -> None:
    with pytest.raises(ValueError, match=r"yibaolang\.ir/1"):
        load(json.dumps({"schema": "其他/2", "module": {}}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_generated_modules_round_trip(module: ir.Module) -> None:
    # Generated nodes carry ir.NO_SPAN (another file name): compared as JSON, where a span has no file.
    back = load(dump(module))
    assert to_json(back) == to_json(module)
    assert load(dump(back)) == back
