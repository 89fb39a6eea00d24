"""The handoff decision: explicit requests for a person, angry customers, and the look-alikes that are
neither (negated requests, 人工费, 人工智能, mild unhappiness in an ordinary question)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from kefu.conversation.handoff import HandoffAsk, handoff_ask, without_declined_request

DATA = Path(__file__).resolve().parents[1] / "data" / "handoff_intents.jsonl"


def reason(text: str) -> str:
    ask = handoff_ask(text)
    return ask.reason if ask else "none"


@pytest.mark.parametrize(
    "text",
    [
        "转人工",
        "人工客服",
        "人工服务",
        "找人工",
        "接人工",
        "要人工",
        "人工!",
        "人工人工",
        "找真人",
        "真人客服",
        "我想和真人说话",
        "叫你们经理来",
        "叫你们负责人出来",
        "让你们主管处理",
        "客服经理呢",
        "人呢？？",
        "怎么转人工？",
        "转 人 工",
        "human please",
        "I want to talk to a human",
        "can I talk to a person",
        "real person please",
        "live agent",
        "operator",
        "agent please",
        "speak to someone",
        "how do I reach a human?",
        "Representative!",
    ],
)
def test_requests(text: str) -> None:
    ask = handoff_ask(text)
    assert ask is not None and ask.reason == "request", (text, ask)
    assert 0.0 < ask.score <= 1.0 and ask.cue


@pytest.mark.parametrize(
    "text",
    [
        "不用转人工",
        "不需要人工，谢谢",
        "别转人工，你直接回答",
        "不要人工",
        "无需人工",
        "no need for a human, thanks",
        "don't transfer me, just tell me",
        "人工费多少钱",
        "安装要人工费吗",
        "人工智能是什么",
        "收件人呢？填谁",
        "do you sell human hair wigs?",
    ],
)
def test_negated_and_look_alike_requests_are_none(text: str) -> None:
    assert handoff_ask(text) is None, (text, handoff_ask(text))


@pytest.mark.parametrize(
    "text",
    [
        "我要投诉",
        "我想投诉快递员",
        "差评",
        "骗子",
        "什么破服务",
        "坑人",
        "退钱！！",
        "气死我了",
        "太过分了",
        "我要打12315",
        "去消协告你们",
        "律师函等着吧，我要起诉",
        "这就是欺诈",
        "无语",
        "忍无可忍",
        "等了十天还没发货！！！",
        "你们到底什么时候发货？？？",
        "this is a scam",
        "ridiculous",
        "worst service ever",
        "I want to file a complaint",
        "unacceptable",
        "I'm fed up",
        "WHY IS MY ORDER STILL NOT HERE",
    ],
)
def test_complaints(text: str) -> None:
    ask = handoff_ask(text)
    assert ask is not None and ask.reason == "complaint", (text, ask)
    assert 0.5 < ask.score <= 1.0 and ask.cue


@pytest.mark.parametrize(
    "text",
    [
        "快递有点慢，一般几天到？",
        "优惠券怎么用不了",
        "太棒了！！！",
        "非常满意，谢谢",
        "垃圾袋有卖吗",
        "已经收到衣服了",
        "烟雾报警器怎么装",
        "我的订单号是1231588",
        "我不是要投诉，就是问问",
        "DHL or UPS?",
        "worst case, when does it arrive?",
        "the delivery was a bit slow, is that normal?",
    ],
)
def test_ordinary_messages_are_none(text: str) -> None:
    assert handoff_ask(text) is None, (text, handoff_ask(text))


def test_request_wins_over_complaint() -> None:
    assert reason("我要投诉，转人工") == "request"


def test_result_is_frozen() -> None:
    ask = handoff_ask("转人工")
    assert isinstance(ask, HandoffAsk)
    with pytest.raises(AttributeError):
        ask.reason = "complaint"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\x01\x02\x1b[31m",
        "😀😀😀🙏",
        "？？？！！！",
        "转人工" * 4000,
        "a" * 10_000,
        "垃圾" + "！" * 10_000,
        "\ud800 unpaired surrogate",
        "\u200b\u200d\ufeff",
    ],
)
def test_never_raises(text: str) -> None:
    ask = handoff_ask(text)
    assert ask is None or (ask.reason in ("request", "complaint") and 0.0 <= ask.score <= 1.0)


def test_non_string_is_none() -> None:
    assert handoff_ask(None) is None  # type: ignore[arg-type]


def _rows(split: str) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split]


def test_data_file_is_labelled_and_split() -> None:
    rows = _rows("fit") + _rows("test")
    labels = Counter(r["label"] for r in rows)
    assert len(rows) >= 400 and labels["request"] >= 120 and labels["complaint"] >= 120 and labels["none"] >= 160
    assert len({r["text"] for r in rows}) == len(rows)


def test_figures_on_the_test_split() -> None:
    """Floors slightly below what the rules reach on the held-out split (docs quote the exact figures)."""
    conf: Counter[tuple[str, str]] = Counter()
    for r in _rows("test"):
        conf[(r["label"], reason(r["text"]))] += 1

    def recall(label: str) -> float:
        return conf[(label, label)] / sum(n for (gold, _), n in conf.items() if gold == label)

    none_total = sum(n for (gold, _), n in conf.items() if gold == "none")
    fpr = 1.0 - conf[("none", "none")] / none_total
    assert recall("request") >= REQUEST_RECALL_FLOOR, conf
    assert recall("complaint") >= COMPLAINT_RECALL_FLOOR, conf
    assert fpr <= NONE_FPR_CEILING, conf


def test_fast() -> None:
    texts = [f"{r['text']} {i}" for i in range(5) for r in _rows("fit") + _rows("test")]  # defeat caches
    start = time.perf_counter()
    for t in texts:
        handoff_ask(t)
    per_message = (time.perf_counter() - start) / len(texts)
    assert per_message < 500e-6  # generous for slow CI machines; typical is well under 50 µs


# Measured on the test split: request recall 0.986 (70/71), complaint recall 0.938 (75/80), none FPR 0 (0/109).
REQUEST_RECALL_FLOOR = 0.97
COMPLAINT_RECALL_FLOOR = 0.92
NONE_FPR_CEILING = 0.01


EXTRA = DATA.with_name("handoff_fit_extra.jsonl")


def test_second_writers_fit_examples() -> None:
    """The rules were extended on these (a second writer's fit examples, never on the test split): they must
    keep what they learnt. 325 of 335 at the commit that added them; the misses are sarcasm without cues."""
    rows = [json.loads(line) for line in EXTRA.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 330 and {r["split"] for r in rows} == {"fit"}
    assert not {r["text"] for r in rows} & {r["text"] for r in _rows("test")}
    wrong = [r["text"] for r in rows if (reason(r["text"]) == "none") != (r["label"] == "none")]
    assert len(wrong) <= 12, wrong


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("我要找客服小姐姐", "request"),
        ("let me speak to ur manager", "request"),
        ("Manager please", "request"),
        ("转仁工", "request"),
        ("给我回个电话", "request"),
        ("你们是不是想跑路啊", "complaint"),
        ("im going to leave a bad review", "complaint"),
        ("不用转人工，我就问下运费", "none"),
        ("之前人工客服说会补发，请问补发单号是多少", "none"),
        ("你们老板是谁", "none"),
        ("能不能让快递员送货前先打个电话", "none"),
        ("怎么查看投诉进度", "none"),
    ],
)
def test_second_writers_cases(text: str, want: str) -> None:
    assert reason(text) == want, (text, handoff_ask(text))


@pytest.mark.parametrize(
    ("text", "searched"),
    [
        ("不用转人工，我就问下运费多少", "我就问下运费多少"),
        ("我不要人工客服 退款多久到账", "退款多久到账"),
        ("don't transfer me, when does my order ship?", "when does my order ship"),
        ("no need for a human, just tell me the shipping fee", "just tell me the shipping fee"),
        ("转人工", "转人工"),  # a request is not searched at all, but is left as it is
        ("退款多久到账", "退款多久到账"),
        ("不用转人工", "不用转人工"),  # nothing else to search for
        ("", ""),
    ],
)
def test_a_declined_person_is_left_out_of_the_search(text: str, searched: str) -> None:
    assert without_declined_request(text) == searched
