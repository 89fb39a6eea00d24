"""Loaders on real files, written in each test with the real libraries (openpyxl, python-docx, fpdf2,
pypdf): every format imports, and every kind of bad file fails with a clear reason naming the file."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.enum.style import WD_STYLE_TYPE
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from kefu.knowledge.loaders import (
    Document,
    Failure,
    LoadError,
    load_document,
    load_faq,
    load_path,
    stable_id,
)
from kefu.knowledge.loaders.base import ENCRYPTED_PDF

CJK_FONTS = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # Noto Sans CJK SC in the collection
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
]


def garbage(n: int = 4096, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def make_pdf(path: Path, sections: list[tuple[str, str]], font: tuple[str, int] | None = None) -> Path:
    """One page per (bookmark title, text); Helvetica (English only) unless a CJK font is given."""
    pdf = FPDF()
    pdf.set_title("Return policy")
    if font:
        pdf.add_font("cjk", fname=font[0], collection_font_number=font[1])
        pdf.set_font("cjk", size=12)
    else:
        pdf.set_font("Helvetica", size=12)
    for title, text in sections:
        pdf.add_page()
        pdf.start_section(title)
        pdf.multi_cell(0, 8, text)
    path.write_bytes(bytes(pdf.output()))
    return path


def encrypt_pdf(src: Path, dst: Path, user_password: str, **kw: object) -> Path:
    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(user_password, **kw)
    buf = io.BytesIO()
    writer.write(buf)
    dst.write_bytes(buf.getvalue())
    return dst


def make_docx(path: Path) -> Path:
    d = docx.Document()
    d.core_properties.title = "售后服务手册"
    d.add_heading("退货政策", level=1)
    d.add_paragraph("自签收之日起七天内可申请无理由退货。商品需保持完好。")
    d.add_heading("退货条件", level=2)
    d.add_paragraph("未拆封", style="List Bullet")
    d.add_paragraph("附带发票", style="List Bullet")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "项目", "说明"
    table.cell(1, 0).text, table.cell(1, 1).text = "运费", "买家承担"
    d.add_heading("Exchanges", level=1)
    d.add_paragraph("Exchanges are free within 15 days.")
    d.save(path)
    return path


def make_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.create_sheet("ignored").append(["question", "answer"])
    wb.save(path)
    return path


def reason_of(path: Path | str, data: bytes | None = None) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_path(path, data)
    return info.value


# -------------------------------------------------------------------------------------------- FAQ tables


def test_csv_faq(tmp_path: Path) -> None:
    p = write(
        tmp_path / "faq.csv",
        "id,question,answer,similar,category,tags\n"
        'ship-1,下单后多久发货？,当天16:00前付款当天发货。,什么时候发货|多久发货,配送,"发货,时效"\n'
        ',How do I return an item?,Open the order and tap Return.,"return policy\nsend it back",returns,returns\n'
        ",,,,,\n",
    )
    faqs = load_faq(p)
    assert [f.key for f in faqs] == ["ship-1", stable_id("How do I return an item?")]
    zh, en = faqs
    assert (zh.lang, zh.category, zh.similar, zh.tags) == ("zh", "配送", ["什么时候发货", "多久发货"], ["发货", "时效"])
    assert (en.lang, en.similar, en.tags) == ("en", ["return policy", "send it back"], ["returns"])
    assert en.key.startswith("faq-")


def test_csv_chinese_headers_in_gb18030(tmp_path: Path) -> None:
    text = (
        "编号\t问题\t答案\t相似问题\t分类\t标签\n"
        "7\t怎么开发票？\t在订单详情页申请电子发票。\t能开发票吗｜发票怎么开\t发票\t发票、售后\n"
    )
    p = write(tmp_path / "常见问题.csv", text, "gb18030")
    [faq] = load_faq(p)
    assert (faq.key, faq.question, faq.answer) == ("7", "怎么开发票？", "在订单详情页申请电子发票。")
    assert faq.similar == ["能开发票吗", "发票怎么开"]
    assert faq.tags == ["发票", "售后"]


def test_csv_missing_answer_column(tmp_path: Path) -> None:
    p = write(tmp_path / "faq.csv", "id,question,category\n1,怎么退货？,售后\n")
    err = reason_of(p)
    assert str(err).startswith("faq.csv: missing required column(s): answer (缺少必需的列：答案)")
    assert "columns found: id, question, category" in err.reason
    assert err.path == str(p)


def test_csv_bad_rows_are_reported_together(tmp_path: Path) -> None:
    p = write(tmp_path / "faq.csv", "id,question,answer\n1,Q1,A1\n2,Q2,\n1,Q3,A3\n")
    reason = reason_of(p).reason
    assert "row 3: empty answer (答案为空)" in reason
    assert "row 4: duplicate id '1', first at row 2" in reason


def test_stable_ids_do_not_change(tmp_path: Path) -> None:
    p = write(tmp_path / "faq.csv", "question,answer\n怎么退货？,七天内可退。\n")
    first = load_faq(p)[0].key
    p.write_text("question,answer\n怎么退货？,七天无理由退货。\n", "utf-8")  # a new answer keeps the id
    assert load_faq(p)[0].key == first == stable_id(" 怎么退货？ ")


def test_json_faq_list_and_wrapped(tmp_path: Path) -> None:
    items = [
        {"id": "a", "question": "运费怎么算？", "answer": "满99包邮。", "similar": ["包邮吗"], "tags": ["运费"]},
        {"问题": "Can I pay by card?", "答案": "Yes, all major cards.", "分类": "payment", "similar": "by card|card"},
    ]
    plain = load_faq(write(tmp_path / "a.json", json.dumps(items, ensure_ascii=False)))
    wrapped = load_faq(write(tmp_path / "b.json", json.dumps({"faqs": items}, ensure_ascii=False)))
    assert plain == wrapped
    assert [(f.key, f.lang, f.similar) for f in plain] == [
        ("a", "zh", ["包邮吗"]),
        (stable_id("Can I pay by card?"), "en", ["by card", "card"]),
    ]
    assert plain[1].category == "payment"


def test_json_errors(tmp_path: Path) -> None:
    err = reason_of(write(tmp_path / "faq.json", '[{"question": "q", "answer": "a"},'))
    assert str(err).startswith("faq.json: invalid JSON at line 1")
    assert "expected a list" in reason_of(write(tmp_path / "o.json", '{"x": 1}')).reason
    assert "item 2: empty answer" in reason_of(write(tmp_path / "i.json", '[{"q": "x", "a": "y"}, {"q": "z"}]')).reason


def test_xlsx_faq(tmp_path: Path) -> None:
    p = make_xlsx(
        tmp_path / "faq.xlsx",
        [
            [None, None, None],
            ["编号", "问题", "答案", "相似问题", "分类"],
            [1, "怎么修改地址？", "发货前可在订单页修改。", "改地址\n地址填错了", "订单"],
            [None, None, None, None, None],
            [None, "What are your hours?", "9:00-21:00 every day.", None, None],
        ],
    )
    a, b = load_faq(p)
    assert (a.key, a.question, a.similar, a.category) == ("1", "怎么修改地址？", ["改地址", "地址填错了"], "订单")
    assert a.lang == "zh"
    assert (b.key, b.answer, b.lang) == (stable_id("What are your hours?"), "9:00-21:00 every day.", "en")


def test_xlsx_missing_column_names_the_row_headers(tmp_path: Path) -> None:
    p = make_xlsx(tmp_path / "faq.xlsx", [["问题", "备注"], ["怎么退货？", "x"]])
    expected = "faq.xlsx: missing required column(s): answer (缺少必需的列：答案); columns found: 问题, 备注"
    assert str(reason_of(p)) == expected


# --------------------------------------------------------------------------------------------- documents


def test_markdown_document(tmp_path: Path) -> None:
    p = write(
        tmp_path / "returns.md",
        "# 退货政策\n\n七天无理由退货。商品需保持完好，\n不影响二次销售。\n\n"
        "## 退货条件\n\n- 未拆封\n- 附带**发票**\n\n"
        "| 项目 | 说明 |\n|---|---|\n| 运费 | 买家承担 |\n\n```\n# not a heading\n```\n\n## Refunds\n\n"
        "Refunds reach your\naccount in 3 days.\n",
    )
    doc = load_document(p)
    assert (doc.title, doc.format, doc.source) == ("退货政策", "markdown", "returns.md")
    assert [(b.section, b.text) for b in doc.blocks] == [
        (("退货政策",), "七天无理由退货。商品需保持完好，不影响二次销售。"),
        (("退货政策", "退货条件"), "- 未拆封\n- 附带发票"),
        (("退货政策", "退货条件"), "项目 | 说明\n运费 | 买家承担"),
        (("退货政策", "退货条件"), "# not a heading"),
        (("退货政策", "Refunds"), "Refunds reach your account in 3 days."),
    ]
    assert doc.blocks[1].section_title == "退货政策 > 退货条件" and doc.blocks[1].level == 2
    assert doc.id == load_document("returns.md", p.read_bytes()).id  # the same name, the same id


def test_html_document(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>帮助中心 - 退货</title><style>p{color:red}</style>
    <script>var secret = 1;</script></head><body>
    <nav><a href="/">首页</a><a href="/help">帮助</a></nav>
    <h1>退货政策</h1>
    <p>七天
       无理由退货。<b>请保留发票</b>。<script>track()</script></p>
    <div>Line one<br>line two</div>
    <h2>运费</h2>
    <ul><li>质量问题：商家承担<ul><li>需提供照片</li></ul></li><li><p>其他：买家承担</p></li></ul>
    <table><tr><th>地区</th><th>时效</th></tr><tr><td>新疆</td><td>4-7天</td></tr></table>
    <!-- a comment --><footer>© 2026 某某商城</footer></body></html>"""
    doc = load_document(write(tmp_path / "help.html", html))
    assert (doc.title, doc.format) == ("帮助中心 - 退货", "html")
    assert [(b.section_title, b.text) for b in doc.blocks] == [
        ("退货政策", "七天无理由退货。请保留发票。"),
        ("退货政策", "Line one\nline two"),
        ("退货政策 > 运费", "- 质量问题：商家承担\n- 需提供照片\n- 其他：买家承担"),
        ("退货政策 > 运费", "地区 | 时效\n新疆 | 4-7天"),
    ]
    assert not any(w in doc.text for w in ("secret", "track", "首页", "color", "comment", "©"))


def test_html_with_declared_gbk_charset(tmp_path: Path) -> None:
    html = '<html><head><meta charset="gbk"><title>说明</title></head><body><p>发货时间：当天。</p></body></html>'
    doc = load_document(write(tmp_path / "old.htm", html, "gbk"))
    assert (doc.title, doc.text) == ("说明", "发货时间：当天。")


def test_pdf_document_with_bookmarks(tmp_path: Path) -> None:
    p = make_pdf(
        tmp_path / "policy.pdf",
        [
            ("Returns", "You can return any item within seven days of delivery. " * 4),
            ("Shipping", "Orders paid before 4 pm ship the same day."),
        ],
    )
    doc = load_document(p)
    assert (doc.title, doc.format) == ("Return policy", "pdf")
    first, last = doc.blocks[0], doc.blocks[-1]
    assert (first.section, first.page) == (("Returns",), 1)
    # Line wraps are undone: a line break is left only after the end of a sentence.
    assert first.text.replace(".\n", ". ").startswith("You can return any item within seven days of delivery. You can")
    assert "\n" not in first.text.replace(".\n", ". ")
    assert (last.section, last.page, last.text) == (("Shipping",), 2, "Orders paid before 4 pm ship the same day.")


def test_pdf_chinese(tmp_path: Path) -> None:
    font = next((f for f in CJK_FONTS if Path(f[0]).exists()), None)
    if font is None:
        pytest.skip("no CJK font on this machine to write a Chinese PDF with")
    text = "自签收之日起七天内可申请无理由退货。商品需保持完好，不影响二次销售。退款在三个工作日内原路返回。" * 2
    doc = load_document(make_pdf(tmp_path / "退货政策.pdf", [("退货政策", text)], font))
    assert doc.blocks[0].section == ("退货政策",)
    assert doc.text.replace("。\n", "。") == text  # wrapped lines joined without stray spaces or NULs


def test_pdf_with_owner_password_only_opens(tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "src.pdf", [("A", "Readable without a password.")])
    p = encrypt_pdf(src, tmp_path / "locked-for-editing.pdf", "", owner_password="owner", algorithm="AES-128")
    assert load_document(p).text == "Readable without a password."


def test_encrypted_pdf(tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "src.pdf", [("A", "Secret text.")])
    p = encrypt_pdf(src, tmp_path / "退货政策.pdf", "secret")
    assert str(reason_of(p)) == "退货政策.pdf: encrypted PDF (加密的 PDF)"


def test_pdf_without_text(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buf = io.BytesIO()
    writer.write(buf)
    reason = reason_of(write(tmp_path / "scan.pdf", buf.getvalue())).reason
    assert reason.startswith("no extractable text")


def test_docx_document(tmp_path: Path) -> None:
    doc = load_document(make_docx(tmp_path / "手册.docx"))
    assert (doc.title, doc.format, doc.source) == ("售后服务手册", "docx", "手册.docx")
    assert [(b.section_title, b.level, b.text) for b in doc.blocks] == [
        ("退货政策", 1, "自签收之日起七天内可申请无理由退货。商品需保持完好。"),
        ("退货政策 > 退货条件", 2, "- 未拆封\n- 附带发票"),
        ("退货政策 > 退货条件", 2, "项目 | 说明\n运费 | 买家承担"),
        ("Exchanges", 1, "Exchanges are free within 15 days."),
    ]


def test_docx_chinese_heading_style_names(tmp_path: Path) -> None:
    d = docx.Document()
    for name in ("标题 1", "标题 2"):
        d.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("配送", style="标题 1")
    d.add_paragraph("偏远地区", style="标题 2")
    d.add_paragraph("新疆、西藏需要4-7个工作日。")
    d.save(tmp_path / "zh.docx")
    [block] = load_document(tmp_path / "zh.docx").blocks
    assert (block.section, block.level, block.text) == (("配送", "偏远地区"), 2, "新疆、西藏需要4-7个工作日。")


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8", "utf-8-sig", "utf-16"])
def test_txt_encodings(tmp_path: Path, encoding: str) -> None:
    text = "退货须知\n\n七天无理由退货。\n请保留发票。\n\n\nRefunds take 3 days.\n"
    doc = load_document(write(tmp_path / "notes.txt", text, encoding))
    assert (doc.title, doc.format) == ("notes", "txt")
    assert [b.text for b in doc.blocks] == ["退货须知", "七天无理由退货。\n请保留发票。", "Refunds take 3 days."]


# --------------------------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("faq.xlsx", garbage(), "faq.xlsx: corrupt or not a real XLSX file (文件已损坏或不是有效的 XLSX 文件)"),
        ("manual.docx", garbage(), "manual.docx: corrupt or not a real DOCX file (文件已损坏或不是有效的 DOCX 文件)"),
        ("policy.pdf", garbage(), "policy.pdf: corrupt or not a real PDF file (文件已损坏或不是有效的 PDF 文件)"),
        ("policy.pdf", b"%PDF-1.7\n" + garbage(), "policy.pdf: corrupt or not a real PDF file"),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + garbage(), "old.docx: password-protected or legacy"),
        ("empty.pdf", b"", "empty.pdf: empty file (文件为空)"),
        ("empty.csv", b"", "empty.csv: empty file (文件为空)"),
        ("empty.xlsx", b"", "empty.xlsx: empty file (文件为空)"),
        ("blank.txt", b" \n\t\n", "blank.txt: empty file (文件为空)"),
        ("blank.md", b"\n\n<!-- only a comment -->\n", "blank.md: no text found (没有可提取的文字)"),
        ("setup.exe", b"MZ" + garbage(), "setup.exe: unsupported file type .exe (不支持的文件类型)"),
        ("faq.xls", garbage(), "faq.xls: unsupported file type .xls: save it as .xlsx"),
        ("README", b"text", "README: unsupported file type (no extension)"),
        ("latin.txt", b"caf\xe9 na\xefve \xff", "latin.txt: cannot decode the text: not UTF-8 or GB18030"),
        ("bin.txt", b"abc\x00\x00def", "bin.txt: binary content, not a text file (不是文本文件)"),
        ("faq.csv", b'id,question,answer\n1,"unclosed,x\n', "faq.csv: malformed CSV"),
    ],
)
def test_bad_files_get_clear_reasons(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    err = reason_of(write(tmp_path / name, data))
    assert str(err).startswith(expected), str(err)
    assert err.reason == str(err).removeprefix(f"{name}: ")


def test_missing_file(tmp_path: Path) -> None:
    assert str(reason_of(tmp_path / "gone.pdf")) == "gone.pdf: file not found (文件不存在)"


def test_load_path_reads_each_kind_and_says_what_is_wrong_with_the_rest(tmp_path: Path) -> None:
    good = [
        write(tmp_path / "faq.csv", "question,answer\n怎么退货？,七天内可退。\nHow to pay?,By card.\n"),
        make_docx(tmp_path / "manual.docx"),
        make_pdf(tmp_path / "policy.pdf", [("Returns", "Return within seven days.")]),
        write(tmp_path / "notes.txt", "发货：当天。", "gb18030"),
    ]
    bad = [
        write(tmp_path / "broken.xlsx", garbage()),
        write(tmp_path / "empty.md", b""),
        encrypt_pdf(good[2], tmp_path / "locked.pdf", "pw"),
        write(tmp_path / "virus.exe", b"MZ"),
        write(tmp_path / "no_answer.csv", "id,question\n1,Q\n"),
    ]
    faqs = load_path(good[0])
    assert isinstance(faqs, list) and [f.question for f in faqs] == ["怎么退货？", "How to pay?"]
    docs = [load_path(p) for p in good[1:]] + [load_path("upload.md", "# 标题\n\n上传的文件。".encode())]
    assert all(isinstance(d, Document) for d in docs)
    assert [d.source for d in docs] == ["manual.docx", "policy.pdf", "notes.txt", "upload.md"]  # type: ignore[union-attr]
    reasons = []
    for p in bad:
        with pytest.raises(LoadError) as err:
            load_path(p)
        assert err.value.path == str(p)
        reasons.append(err.value.reason.split(" (")[0])
    assert reasons == [
        "corrupt or not a real XLSX file",
        "empty file",
        "encrypted PDF",
        "unsupported file type .exe",
        "missing required column(s): answer",
    ]
    assert str(Failure(str(bad[2]), ENCRYPTED_PDF)) == "locked.pdf: encrypted PDF (加密的 PDF)"


def test_a_parser_bug_does_not_stop_an_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One file whose parser raises is reported; the batch goes on (through the one import path)."""
    import kefu.knowledge.loaders as loaders
    from kefu.knowledge.importer import import_sources
    from kefu.store.repo import Store

    def boom(source: object, data: object = None) -> None:
        raise RuntimeError("parser bug")

    monkeypatch.setitem(loaders.DOCUMENT_LOADERS, "txt", boom)
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.migrate()
    store.ensure_tenant("default")
    try:
        files = [write(tmp_path / "a.txt", "x"), write(tmp_path / "b.md", "# B\n\nok")]
        result = import_sources(store, "default", files)
    finally:
        store.close()
    assert [f.name for f in result.files] == ["b.md"] and result.chunks >= 1
    assert [Path(f.path).name for f in result.failed] == ["a.txt"]
    assert "RuntimeError" in result.failed[0].reason
