"""The baseline keyword search over the demo FAQ (the knowledge-base issue replaces it)."""

import pytest

from kefu.knowledge.keyword import FaqIndex, grams
from kefu.knowledge.service import demo_faq


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex(demo_faq())


def test_demo_faq_shape() -> None:
    entries = demo_faq()
    assert len(entries) >= 40
    assert {e.lang for e in entries} == {"zh", "en"}
    assert len({e.key for e in entries}) == len(entries)


def test_grams() -> None:
    g = grams("如何修改收货地址？Change my ADDRESS")
    assert {"修改", "地址", "change", "address"} <= g
    assert "my" not in g


@pytest.mark.parametrize(
    ("question", "expected_prefix"),
    [
        ("如何修改收货地址？", "zh-address-change"),
        ("地址写错了能改不", "zh-address-change"),
        ("退款多久到账", "zh-refund"),
        ("can i change my delivery address", "en-address-change"),
        ("how long does a refund take", "en-refund"),
    ],
)
def test_top_hit(index: FaqIndex, question: str, expected_prefix: str) -> None:
    hits = index.search(question, 3)
    assert hits and hits[0].key.startswith(expected_prefix), [h.key for h in hits]
    assert 0 < hits[0].score <= 1


def test_exact_question_scores_one_and_noise_scores_low(index: FaqIndex) -> None:
    assert index.search("如何修改收货地址？", 1)[0].score == 1.0
    noise = index.search("今天天气怎么样", 1)
    assert not noise or noise[0].score < 0.35
    assert index.search("？？？", 3) == []
