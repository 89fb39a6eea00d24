"""PII recognisers: each kind, the look-alikes that must stay untouched, and the floors on the evaluation set."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from kefu.guard.evaluation_pii import evaluate_pii, load_rows
from kefu.guard.pii import KINDS, PLACEHOLDERS, PiiSpan, detect, mask
from tests.conftest import best_of

DATA = Path(__file__).resolve().parents[1] / "data" / "pii_zh.jsonl"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in detect(text)]


def test_public_api_shape() -> None:
    assert KINDS == ("id", "mobile", "phone", "card", "email", "name", "addr", "passport", "plate")
    assert set(PLACEHOLDERS) == set(KINDS)
    assert PLACEHOLDERS["mobile"] == "[手机号]" and PLACEHOLDERS["name"] == "[姓名]"
    assert detect("") == [] and mask("").text == ""


def test_issue_examples() -> None:
    assert mask("张三 13812341234").text == "[姓名] [手机号]"
    assert mask("我叫张三，电话13812341234").text == "我叫[姓名]，电话[手机号]"
    m = mask("我叫张三，电话13812341234")
    assert m.spans == [PiiSpan(2, 4, "name", "张三"), PiiSpan(7, 18, "mobile", "13812341234")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("身份证110101199003071234", "110101199003071234"),  # valid checksum
        ("45030519850612001X", "45030519850612001X"),
        ("证件号 11010119900307123x", "11010119900307123x"),
        ("身份证 110101 19900307 1234", "110101 19900307 1234"),
        ("身份证１１０１０１１９９００３０７１２３４", "１１０１０１１９９００３０７１２３４"),  # full-width digits
        ("老身份证110101900307123", "110101900307123"),  # 15 digits
    ],
)
def test_id_numbers(text: str, expected: str) -> None:
    assert kinds(text) == [("id", expected)]


def test_mistyped_id_is_still_masked() -> None:
    # Valid region code and birth date, failing checksum (the valid one ends in 4): still personal data.
    assert kinds("110101199003071235") == [("id", "110101199003071235")]
    assert mask("身份证号我打错了：110101199003071239").text == "身份证号我打错了：[身份证号]"
    # Not ID-shaped at all: an invalid birth date and no label.
    assert kinds("110101199013401235") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("手机13812341234", "13812341234"),
        ("138 1234 1234 打给我", "138 1234 1234"),
        ("电话138-1234-1234", "138-1234-1234"),
        ("+86 138 1234 1234", "+86 138 1234 1234"),
        ("+8613812341234", "+8613812341234"),
        ("0086-13812341234", "0086-13812341234"),
        ("call me at 199 8765 4321.", "199 8765 4321"),
    ],
)
def test_mobiles(text: str, expected: str) -> None:
    assert kinds(text) == [("mobile", expected)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("座机010-62345678", "010-62345678"),
        ("公司电话(0755)86001234", "(0755)86001234"),
        ("固话 0571 8888 1234", "0571 8888 1234"),
        ("座机：62345678", "62345678"),  # no area code: only a label makes it a phone
    ],
)
def test_landlines(text: str, expected: str) -> None:
    assert kinds(text) == [("phone", expected)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("退款到6222020200112345679", "6222020200112345679"),  # Luhn-valid, UnionPay prefix, no label
        ("卡号 6222 0202 0011 2345 679", "6222 0202 0011 2345 679"),
        ("visa 4111-1111-1111-1111", "4111-1111-1111-1111"),
        ("银行卡号6222020200112345678", "6222020200112345678"),  # Luhn fails, but the label says card
    ],
)
def test_bank_cards(text: str, expected: str) -> None:
    assert kinds(text) == [("card", expected)]


def test_emails_passports_plates() -> None:
    assert kinds("邮箱 zhang.san+shop@example.com.cn 谢谢") == [("email", "zhang.san+shop@example.com.cn")]
    assert kinds("发到12345678@qq.com") == [("email", "12345678@qq.com")]
    assert kinds("护照号E12345678") == [("passport", "E12345678")]
    assert kinds("EA1234567 是我的护照") == [("passport", "EA1234567")]
    assert kinds("passport number 512345678") == [("passport", "512345678")]
    assert kinds("我的车牌京A12345") == [("plate", "京A12345")]
    assert kinds("粤B·D12345 新能源") == [("plate", "粤B·D12345")]
    assert kinds("沪A12345D") == [("plate", "沪A12345D")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("收货地址：北京市朝阳区建国路88号SOHO现代城5号楼1201", "北京市朝阳区建国路88号SOHO现代城5号楼1201"),
        ("寄到上海浦东新区张江路123弄5号601室，谢谢", "上海浦东新区张江路123弄5号601室"),
        ("我家住在阳光花园3栋2单元501", "阳光花园3栋2单元501"),
        ("地址 广东省 深圳市 南山区 科技南十二路 18号", "广东省 深圳市 南山区 科技南十二路 18号"),
        ("河南省周口市郸城县宜路镇张庄村4组29号", "河南省周口市郸城县宜路镇张庄村4组29号"),
        ("ship to 221B Baker Street, London NW1 6XE", "221B Baker Street, London NW1 6XE"),
        ("1600 Amphitheatre Parkway, Mountain View, CA 94043", "1600 Amphitheatre Parkway, Mountain View, CA 94043"),
    ],
)
def test_addresses(text: str, expected: str) -> None:
    assert kinds(text) == [("addr", expected)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我叫王芳，想问下退货", "王芳"),
        ("收件人：欧阳娜娜", "欧阳娜娜"),
        ("姓名：刘海俊 男", "刘海俊"),  # a strong label wins over a look-alike word (刘海)
        ("请联系李先生", "李"),
        ("帮我转告张女士", "张"),
        ("my name is Emily Chen", "Emily Chen"),
        ("Hi, I'm Mohammed Nguyen. Where is my parcel?", "Mohammed Nguyen"),
        ("Recipient: Tom", "Tom"),
        ("收件人：Tom", "Tom"),
    ],
)
def test_names_in_context(text: str, expected: str) -> None:
    assert kinds(text) == [("name", expected)]


def test_name_next_to_other_pii() -> None:
    assert mask("李娜，13912345678，广州市天河区天河路385号").text == "[姓名]，[手机号]，[地址]"
    assert mask("赵磊 13912345678").text == "[姓名] [手机号]"


@pytest.mark.parametrize(
    "text",
    [
        "订单号2024051812345678怎么还没发货",
        "我的订单号是 4123456789012345670 谢谢",  # Luhn-valid with a Visa prefix, but labelled as an order
        "订单号 110101199003071234",  # ID-shaped, but the label says order number
        "快递单号SF1234567890123",
        "运单号 773012345678901",
        "YT1234567890123 到哪了",
        "SKU-A1023-BLK-XL 有货吗",
        "优惠码 XKFD-8H2K-Q9ZP 用不了",
        "客服电话400-820-8820打不通",
        "热线 4008208820",
        "800-810-8888",
        "价格¥8408.72，优惠后7999",
        "2024-05-18 14:30下的单",
        "5月18号之前能到吗",
        "买了3件，退2件",
        "手机尾号1234",
        "验证码839201",
        "取件码 12-3-4567",
        "交易单号4200001234202405181234567890",
        "发票号码12345678",
        "从广东发货吗？上海市内能当日达吗",
        "北京朝阳区有自提点吗",
        "南京路店几点关门",
        "3号楼的快递柜坏了",
        "我是老客户了",
        "我叫了半天都没人理",
        "联系不上快递员",
        "方便的话明天送",
        "谢谢 辛苦了",
        "王者荣耀点券没到账",
        "I'm not happy with the service",
        "This is the third time I contact you",
        "I am Chinese",
    ],
)
def test_look_alikes_untouched(text: str) -> None:
    assert detect(text) == []


def test_spans_sorted_and_disjoint() -> None:
    text = "张伟 13812341234 zhang@example.com 身份证110101199003071234 卡号6222020200112345679 京A12345"
    spans = detect(text)
    assert [s.kind for s in spans] == ["name", "mobile", "email", "id", "card", "plate"]
    assert all(a.end <= b.start for a, b in pairwise(spans))
    assert all(text[s.start : s.end] == s.text for s in spans)
    masked = mask(text).text
    assert "13812341234" not in masked and "110101199003071234" not in masked


# --------------------------------------------------------------------------------------------
# The evaluation set and the floors of issue 5
# --------------------------------------------------------------------------------------------
RECALL_FLOORS = {"id": 0.99, "mobile": 0.99, "card": 0.99, "email": 0.99, "name": 0.90, "addr": 0.90}


def test_evaluation_set_is_well_formed() -> None:
    rows = load_rows(DATA)
    assert len(rows) >= 500
    assert sum(1 for r in rows if not r["pii"]) >= 150
    for r in rows:
        last = 0
        for s, e, k in r["pii"]:
            assert k in KINDS and last <= s < e <= len(r["text"]), r
            last = e


def test_floors_on_evaluation_set() -> None:
    rows = load_rows(DATA)
    res = evaluate_pii(rows, repeat=3, errors=True)
    for kind, floor in RECALL_FLOORS.items():
        assert res["pii"][kind]["recall"] >= floor, (kind, res["pii"][kind], res["errors"][:10])
    assert res["benign_masked_rate"] <= 0.01, [e for e in res["errors"] if not e.get("gold", True)]
    p99 = res["p99_ms"] if res["p99_ms"] <= 2.0 else best_of(lambda: evaluate_pii(rows, repeat=3)["p99_ms"], 2.0)
    assert p99 <= 2.0, (res["p99_ms"], p99)


def test_scorer_overlap_rule() -> None:
    rows = [
        {"text": "电话13812341234", "pii": [[2, 13, "mobile"]]},
        {"text": "订单2024051812345678", "pii": []},
    ]
    res = evaluate_pii(rows)
    assert res["pii"]["mobile"] == {"precision": 1.0, "recall": 1.0, "support": 1}
    assert res["benign_masked_rate"] == 0.0

    def half(text: str) -> list[PiiSpan]:  # finds only the first 5 of 11 digits: < 50% of the gold span
        return [PiiSpan(2, 7, "mobile", text[2:7])] if "138" in text else []

    res = evaluate_pii(rows, detector=half)
    assert res["pii"]["mobile"]["recall"] == 0.0 and res["pii"]["mobile"]["precision"] == 1.0
