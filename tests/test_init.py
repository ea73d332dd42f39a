"""`yibaolang init`: a skeleton from the policy document (docs/init.md), on a fixture and on every seed document."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from yibaolang.analysis.document import canonical_id, parse_document, quantities, read_document
from yibaolang.checks.compiler import compile_policy
from yibaolang.tools.cli import main
from yibaolang.tools.init import quote, skeleton

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "documents" / "tianjin_2016.txt"
GOLDEN = ROOT / "tests" / "golden" / "init"
# CI lays shared/ beside the clone (read-only); the seed documents are the real inputs of `init`.
SEEDS = ROOT.parent / "shared" / "seeds"


def seed_documents() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


def check_skeleton(text: str, folder: Path) -> None:
    """The skeleton parses and checks: warnings at most."""
    path = folder / "skeleton.ybl"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--format", "json", str(path)])
    assert result.exit_code == 0, result.output
    assert '"severity": "error"' not in result.output


def test_skeleton_of_the_tianjin_document_is_golden(golden, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    document = parse_document(read_document(FIXTURE), str(FIXTURE))
    text = skeleton(document, FIXTURE.name)
    golden(GOLDEN / "tianjin_2016.ybl", text)
    check_skeleton(text, tmp_path)
    assert '条款 "二、(五)" 深入实施大病保险制度' in text
    assert "# TODO 金额 2 万元、30 万元、10 万元、20 万元；比例 50%、60%、70%" in text


def test_seed_documents_are_there() -> None:
    assert len(seed_documents()) == 5, f"expected the five seed documents in {SEEDS}"


@pytest.mark.parametrize("path", seed_documents(), ids=lambda p: p.name[:3])
def test_every_seed_document_gives_a_skeleton_that_checks(path: Path, tmp_path: Path) -> None:
    document = parse_document(read_document(path), str(path))
    text = skeleton(document, path.name)
    check_skeleton(text, tmp_path)
    assert document.sections, "the document's numbering was found"
    assert text.count("# TODO") >= 2
    # Every 原文 is the document's own text (less a web page's paragraph counters).
    program = compile_policy(tmp_path / "skeleton.ybl")
    plain = "".join(re.sub(r"^\(\d+\)[ \t]{2,}", "", document.text, flags=re.MULTILINE).split())
    for clause in program.root.module.clauses:
        assert "".join((clause.text or "").split()) in plain


def test_header_fields_stated_by_the_text() -> None:
    lishui = parse_document(read_document(SEEDS / "004_5efe5123c5e4c749.txt")).header
    assert lishui.doc_number == "丽政办发〔2020〕80号"
    assert lishui.issuer == "丽水市人民政府办公室"
    assert lishui.published == dt.date(2020, 11, 19)
    assert lishui.effective == dt.date(2021, 1, 1)
    huangshi = parse_document(read_document(SEEDS / "003_909075ec6e9d86c4.txt")).header
    assert huangshi.doc_number == "黄政办发〔2010〕71号"  # written 黄政办发[2010]71号 in the 字号 field
    assert huangshi.effective == dt.date(2010, 9, 1)
    xinjiang = parse_document(read_document(SEEDS / "001_edd9dab77328dac8.txt")).header
    assert xinjiang.title == "关于推进城乡居民基本医疗保险自治区级统筹的实施方案"  # broken over two lines
    assert xinjiang.status == "征求意见稿"
    assert xinjiang.doc_number is None  # a draft has none; a number cited in the text is not the document's


def test_numbering_nests_and_ids_follow_the_document() -> None:
    text = ("一、总则\n(一)第一项。\n1.起付标准为500元。\n2.报销50%。\n(二)第二项,最高3000元。\n"
            "二、构建体系(三)深入实施,满3个月。\n")
    ids = [s.id for s in parse_document(text).sections]
    assert ids == ["一、", "一、(一)", "一、(一)1.", "一、(一)2.", "一、(二)", "二、", "二、(三)"]


def test_web_page_paragraph_counters_and_translations_are_not_numbering() -> None:
    text = "(1)  I. Improve Policy Measures\n\n(2)  一、完善政策措施\n\n(3)  (一)完善参保政策。满4年的,提高4000元。\n"
    document = parse_document(text)
    assert [s.id for s in document.sections] == ["一、", "一、(一)"]
    assert [q.text for q in document.sentences[0].quantities] == ["4年", "4000元"]


def test_quantities_skip_dates_and_years() -> None:
    found = [q.text for q in quantities("自2025年起,2024年12月23日以前满3年,每年9月至次年2月,第2年")]
    assert found == ["3年"]
    assert [str(q.value) for q in quantities("百分之五十,三个月,5个百分点,2倍")] == ["0.5", "3", "0.05", "2"]


def test_canonical_ids_compare_chinese_and_arabic_numbers() -> None:
    assert canonical_id("三、（八）4\uff0e") == canonical_id("3、(8)4.")
    assert canonical_id("二、(五)") != canonical_id("二、(六)")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('甲乙"“”\n 5%万元#')), min_size=1, max_size=30))
def test_quote_keeps_any_text_verbatim(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    if '"""' in text or text.endswith('"') or not text.strip():
        return  # the one text a yibaolang string cannot hold, and blank text (never a 原文)
    folder = tmp_path_factory.mktemp("quote")
    path = folder / "q.ybl"
    path.write_text(f"政策 测试\n\n条款 \"一、\" 标题\n    原文 {quote(text)}\n", encoding="utf-8")
    program = compile_policy(path)
    assert [d.message for d in program.diagnostics if d.is_error] == []
    assert program.root.module.clauses[0].text == text


def test_gb18030_and_docx_documents(tmp_path: Path) -> None:
    import docx

    text = "某市医疗保险办法\n一、起付标准\n起付标准为500元,报销比例为50%。\n二、封顶\n最高支付3000元。\n"
    gb = tmp_path / "办法.txt"
    gb.write_bytes(text.encode("gb18030"))
    word = docx.Document()
    for line in text.splitlines():
        word.add_paragraph(line)
    word.save(str(tmp_path / "办法.docx"))
    from_text = skeleton(parse_document(read_document(gb)), "办法")
    from_word = skeleton(parse_document(read_document(tmp_path / "办法.docx")), "办法")
    assert from_text == from_word
    assert '条款 "一、" 起付标准' in from_text and "# TODO 金额 500元；比例 50%" in from_text


def test_cli_writes_the_skeleton_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "tianjin.ybl"
    result = CliRunner().invoke(main, ["init", str(FIXTURE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "个条款" in result.output and out.read_text(encoding="utf-8").startswith("# 由 yibaolang init")
    again = CliRunner().invoke(main, ["init", str(FIXTURE), "-o", str(out)])
    assert again.exit_code == 1 and "已存在" in again.output


def test_a_broken_docx_is_a_chinese_message(tmp_path: Path) -> None:
    broken = tmp_path / "坏.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = CliRunner().invoke(main, ["init", str(broken)])
    assert result.exit_code == 1
    assert "错误[YB003]: 不是可读的 .docx 文件" in result.output and "Traceback" not in result.output


def test_a_document_in_neither_encoding_is_yb002(tmp_path: Path) -> None:
    binary = tmp_path / "乱码.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81\x30")
    result = CliRunner().invoke(main, ["init", str(binary)])
    assert result.exit_code == 1
    assert "错误[YB002]: 文件既不是 UTF-8 也不是 GB18030 编码的文本" in result.output
