"""The answer cache: keyed by tenant, bot, knowledge version and the question's key; an LRU."""

from __future__ import annotations

from kefu.conversation.cache import AnswerCache, CachedAnswer
from kefu.text import question_key


def test_question_key_ignores_case_width_space_and_punctuation() -> None:
    assert question_key("退款 多久到账？") == question_key("退款多久到账?") == question_key("退款多久到账")
    assert question_key("ＲＥＦＵＮＤ time!") == question_key("refund time")
    assert question_key("退款多久到账") != question_key("退货多久到账")


def test_cache_is_an_lru_keyed_by_version() -> None:
    cache = AnswerCache(maxsize=2)
    a = CachedAnswer("答案", (), 1.0, "faq")
    cache.put("t", 1, 1, "问题一", a)
    assert cache.get("t", 1, 1, "问题一 ") == a
    assert cache.get("t", 1, 2, "问题一") is None  # the knowledge changed
    assert cache.get("t", 2, 1, "问题一") is None  # another bot
    assert cache.get("other", 1, 1, "问题一") is None  # another tenant
    cache.put("t", 1, 1, "问题二", a)
    cache.put("t", 1, 1, "问题三", a)
    assert len(cache) == 2 and cache.get("t", 1, 1, "问题一") is None
    off = AnswerCache(maxsize=0)
    off.put("t", 1, 1, "问题一", a)
    assert off.get("t", 1, 1, "问题一") is None
