"""The guard as the pipeline uses it: `Guard` and its sentence-by-sentence reply check (`ReplyFilter`).

The reply check is incremental: each finished sentence is read once (with the end of the text before it as
context), so a long reply costs time linear in its length, and the problems are those a check of the whole text
so far finds at the first sentence that fails."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from kefu.guard import pii
from kefu.guard.output import check_reply
from kefu.guard.scoring import read_jsonl as load_rows
from kefu.guard.service import Guard, ReplyFilter, _last_sentence_end, _pii_spans
from kefu.ops.settings import GuardSettings

DATA = Path(__file__).resolve().parents[1] / "data" / "output_guard_zh.jsonl"
SOURCES = [
    "中国大陆地区订单实付满99元包邮，不满99元收取8元运费。自签收次日起7天内可申请无理由退货。",
    "退款一般1-3个工作日原路退回。人工客服服务时间为每天9:00-21:00，热线400-820-8820。",
]
# Sentences each supported by SOURCES (amounts, durations, times, a phone number, a policy).
GOOD = [
    "满99元就包邮哦。",
    "不满99元的话运费是8元。",
    "签收后7天内可以申请无理由退货。",
    "退款一般1-3个工作日到账。",
    "人工客服每天9:00-21:00在线。",
    "也可以拨打400-820-8820。",
    "还有其他问题随时问我。",
]
BAD = "现在下单还能打八折。"  # no source gives a discount
FALLBACK = "【知识库答案】满99元包邮。"


# Lead-ins that make every sentence of a long reply its own: the same sentence twice is a loop, which the
# output guard refuses (tests/guard/test_degenerate.py).
LEAD_A = ["另外", "同时", "此外", "还有", "顺便说一下", "补充一下", "温馨提示", "请注意", "需要说明的是", "简单来说",
          "一般来说", "通常", "目前", "按规定", "按照规则"]  # fmt: skip
LEAD_B = ["亲", "您好", "这边", "我们这里", "小助手提醒", "客服提醒", "店铺说明", "官方说明", "友情提示", "再说明一下",
          "顺带一提", "再补充", "特别说明", "另外提醒", "最后"]  # fmt: skip


def good_reply(n: int, start: int = 0) -> str:
    """n sentences supported by SOURCES, no two alike."""
    out = []
    for i in range(start, start + n):
        lead = LEAD_B[(i // len(LEAD_A)) % len(LEAD_B)] + LEAD_A[i % len(LEAD_A)]
        out.append(lead + GOOD[i % len(GOOD)])
    return "".join(out)


def pieces(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class Engine:
    """Yields the given deltas as an engine stream does, and remembers whether the consumer closed it early."""

    def __init__(self, deltas: list[str], fail_after: int | None = None) -> None:
        self.deltas = deltas
        self.fail_after = fail_after
        self.sent = 0
        self.closed = False

    async def stream(self) -> AsyncIterator[str]:
        try:
            for d in self.deltas:
                if self.fail_after is not None and self.sent == self.fail_after:
                    raise RuntimeError("engine went away")
                self.sent += 1
                yield d
        finally:
            self.closed = self.sent < len(self.deltas)


def reply_filter(question: str = "包邮和退货怎么算？", sources: list[str] | None = None) -> ReplyFilter:
    return ReplyFilter(question, list(SOURCES if sources is None else sources), [question], lambda partial: FALLBACK)


async def collect(check: ReplyFilter, deltas: AsyncIterator[str]) -> list[str]:
    return [d async for d in check(deltas)]


# --- the check is incremental


async def _characters_checked(monkeypatch: pytest.MonkeyPatch, sentences: int) -> tuple[int, int]:
    """Characters the reply check scans for personal data over a good reply of `sentences` sentences, and the
    reply's length. The PII detector reads exactly the text the check reads."""
    seen = [0]
    detect = pii.detect

    def counting(text: str) -> list[pii.PiiSpan]:
        seen[0] += len(text)
        return detect(text)

    monkeypatch.setattr(pii, "detect", counting)
    reply = good_reply(sentences)
    out = await collect(reply_filter(), Engine(pieces(reply)).stream())
    assert "".join(out) == reply
    return seen[0], len(reply)


async def test_a_long_reply_is_checked_in_linear_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-checking the whole reply at each sentence reads 40 sentences about 20 times over (and 80 sentences 40
    times): each sentence is read once, with a bounded context before it."""
    chars_40, len_40 = await _characters_checked(monkeypatch, 40)
    chars_80, len_80 = await _characters_checked(monkeypatch, 80)
    assert chars_40 <= 8 * len_40, (chars_40, len_40)
    assert chars_80 / chars_40 <= 1.1 * len_80 / len_40, (chars_40, chars_80)


async def test_a_bad_sentence_in_a_long_reply_is_caught() -> None:
    """Sentence 21 of 40 is unsupported: the 20 before it go out, then the fallback, and the engine is stopped."""
    before = good_reply(20)
    reply = before + BAD + good_reply(19, start=20)
    engine = Engine(pieces(reply, 4))
    check = reply_filter()
    out = await collect(check, engine.stream())
    assert "".join(out) == before + FALLBACK
    assert [(p.kind, p.claim.text if p.claim else None) for p in check.problems] == [("unsupported_claim", "八折")]
    claim = check.problems[0].claim
    assert claim is not None and reply[claim.start : claim.end] == "八折"  # offsets in the whole reply
    assert engine.closed


async def test_a_promise_is_read_in_its_own_clause() -> None:
    """A negation in the sentence before does not reach over its 。 (the next 包邮 is a promise), and a term split
    over two deltas is one claim."""
    check = reply_filter(sources=["偏远地区暂不支持包邮。"])
    out = await collect(check, Engine(["偏远地区暂不支持", "包邮。", "其他地区全部包", "邮。"]).stream())
    assert out == ["偏远地区暂不支持包邮。", FALLBACK]
    assert [p.claim.text for p in check.problems if p.claim] == ["包邮"]


async def test_the_language_of_the_whole_reply_counts() -> None:
    """One English sentence in a Chinese reply is not a wrong language; an English reply to a Chinese question
    is, once there is enough of it."""
    zh = "签收后7天内可以申请无理由退货，商品需要保持完好。"
    zh2 = "退款一般1-3个工作日原路退回。"  # not zh again: the same sentence twice is a loop
    out = await collect(reply_filter(), Engine(pieces(zh + "Thanks for asking!" + zh2)).stream())
    assert "".join(out) == zh + "Thanks for asking!" + zh2
    check = reply_filter()
    english = "You can return it within seven days. Please keep the tags and the box, and send it back when ready."
    out = await collect(check, Engine(pieces(zh + english)).stream())
    assert out[0] == zh and out[-1] == FALLBACK
    assert [p.kind for p in check.problems] == ["wrong_language"]


async def test_an_engine_failure_mid_sentence_sends_what_passes_then_raises() -> None:
    text = "满99元就包邮哦。不满99元的话运费"
    engine = Engine(pieces(text), fail_after=len(pieces(text)))
    engine.deltas = [*engine.deltas, "不会发出"]
    got: list[str] = []
    with pytest.raises(RuntimeError):
        async for d in reply_filter()(engine.stream()):
            got.append(d)
    assert "".join(got) == text


def _recheck_whole_text(
    deltas: list[str], sources: list[str], question: str, customer: list[str]
) -> tuple[str, list[tuple[str, str | None]]]:
    """The check before it was incremental: at each finished sentence, the whole text so far re-checked."""
    sent = pending = ""
    for d in [*deltas, None]:
        pending += d or ""
        cut = len(pending) if d is None else _last_sentence_end(pending)
        if not cut:
            continue
        ready, pending = pending[:cut], pending[cut:]
        v = check_reply(sent + ready, sources, question=question, customer_texts=customer, pii_detector=_pii_spans)
        if not v.ok:
            return sent, [(p.kind, p.claim.text if p.claim else None) for p in v.problems]
        sent += ready
    return sent, []


async def test_streamed_verdicts_match_the_whole_text_check_on_the_data_set() -> None:
    """Replies of 2 to 16 labelled replies each, streamed in small deltas: the incremental check stops at the same
    sentence with the same problems as re-checking the whole text so far (tests/data/output_guard_zh.jsonl)."""
    rows = load_rows(DATA)
    rng = random.Random(5)
    stopped = 0
    for _ in range(150):
        picks = rng.sample(rows, rng.choice((2, 4, 8, 16)))
        reply = "".join(str(p["reply"]) for p in picks)
        sources = [s for p in picks for s in p["sources"]]
        question = str(picks[0]["question"])
        customer = [question, *(c for p in picks for c in p.get("customer_texts", ()))]
        deltas = pieces(reply, rng.choice((1, 2, 5)))
        check = ReplyFilter(question, sources, customer, lambda partial: "")
        out = await collect(check, Engine(deltas).stream())
        sent, problems = _recheck_whole_text(deltas, sources, question, customer)
        assert "".join(out) == sent
        assert [(p.kind, p.claim.text if p.claim else None) for p in check.problems] == problems
        stopped += bool(problems)
    assert stopped >= 50  # the comparison saw many failing replies, not only passing ones


# --- Guard, as the pipeline calls it


@pytest.fixture
def guard(tmp_path: Path) -> Guard:
    return Guard(GuardSettings(vault_key_file=str(tmp_path / "vault.key"), injection=False), vector_space=None)


def test_reply_filter_is_off_with_the_output_guard(tmp_path: Path) -> None:
    settings = GuardSettings(vault_key_file=str(tmp_path / "vault.key"), injection=False, output="off")
    assert Guard(settings).reply_filter("q", [], [], lambda partial: "") is None


def test_mask_seals_what_it_masks(guard: Guard) -> None:
    masked = guard.mask("我的手机号是13912345678", "s1")
    assert "13912345678" not in masked.text and masked.kinds and masked.sealed
    assert "13912345678" not in guard.mask_plain("我的手机号是13912345678")


async def test_reply_filter_from_guard_checks_against_the_sources(guard: Guard) -> None:
    fallback: Callable[[bool], str] = lambda partial: f"fallback partial={partial}"  # noqa: E731
    check = guard.reply_filter("包邮吗", SOURCES, ["包邮吗"], fallback)
    assert check is not None
    out = await collect(check, Engine(pieces("满99元包邮。" + BAD)).stream())
    assert out == ["满99元包邮。", "fallback partial=True"]
