"""The shared answer cache: the in-process LRU in front of a real Redis at 127.0.0.1:6379 that every instance
shares; while Redis is away the LRU alone answers, and the shared cache resumes when Redis is back."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from kefu.app import create_app
from kefu.conversation.cache import AnswerCache, CachedAnswer, SharedAnswerCache, answer_cache, shared_prefix
from kefu.conversation.types import Source
from kefu.engines.testing import QueueEngine
from kefu.text import question_key
from tests.conftest import ADMIN_HEADERS, make_settings
from tests.faultproxy import FaultProxy

REDIS_URL = "redis://127.0.0.1:6379/0"
DOWN_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

ANSWER = CachedAnswer(
    "退款将在3个工作日内原路退回。",
    (
        Source("zh-refund-time", "退款多久到账？", "退款将在3个工作日内…", 0.8123, "faq"),
        Source("doc-1#3", "售后服务细则.md › 退款", "退款原路退回…", 0.5, "chunk", "售后服务细则.md", "退款", 3),
    ),
    0.93,
    "faq",
)


def fallbacks() -> float:
    return REGISTRY.get_sample_value("kefu_shared_state_fallback_total", {"part": "cache"}) or 0.0


def lookups(result: str) -> float:
    return REGISTRY.get_sample_value("kefu_answer_cache_total", {"result": result}) or 0.0


@pytest.fixture
async def prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    p = f"kefu:test:ac:{uuid.uuid4().hex}:"
    yield p
    keys = [k async for k in redis_client.scan_iter(match=p + "*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
async def make_cache(prefix: str) -> AsyncIterator[Callable[..., SharedAnswerCache]]:
    made: list[SharedAnswerCache] = []

    def make(url: str = REDIS_URL, maxsize: int = 100, **kw: object) -> SharedAnswerCache:
        made.append(SharedAnswerCache(url, maxsize, prefix=prefix, **kw))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for cache in made:
        await cache.aclose()


async def test_an_answer_given_on_one_instance_is_a_hit_on_another(
    make_cache: Callable[..., SharedAnswerCache],
) -> None:
    a, b = make_cache(), make_cache()
    await a.aput("t", 1, 7, "退款 多久到账？", ANSWER)
    redis_hits, local_hits = lookups("hit_redis"), lookups("hit")
    assert await b.aget("t", 1, 7, "退款多久到账") == ANSWER  # sources, confidence and answered_by as stored
    assert lookups("hit_redis") == redis_hits + 1 and lookups("hit") == local_hits
    assert len(b) == 1  # kept near: the next lookup does not ask Redis
    assert await b.aget("t", 1, 7, "退款多久到账?") == ANSWER
    assert lookups("hit") == local_hits + 1 and lookups("hit_redis") == redis_hits + 1


async def test_a_new_knowledge_version_another_bot_or_tenant_misses(
    make_cache: Callable[..., SharedAnswerCache],
) -> None:
    a, b = make_cache(), make_cache()
    await a.aput("t", 1, 7, "退款多久到账", ANSWER)
    misses = lookups("miss")
    assert await b.aget("t", 1, 8, "退款多久到账") is None  # the knowledge changed
    assert await b.aget("t", 2, 7, "退款多久到账") is None  # another bot
    assert await b.aget("t:1", 7, 7, "退款多久到账") is None  # a tenant id with ':' in it is another tenant
    assert await b.aget("t", 1, 7, "退货多久到账") is None  # another question
    assert lookups("miss") == misses + 4
    assert await b.aget("t", 1, 7, "退款多久到账") == ANSWER


async def test_the_key_and_value_in_redis(
    make_cache: Callable[..., SharedAnswerCache], prefix: str, redis_client: aioredis.Redis
) -> None:
    cache = make_cache(ttl_s=3600)
    numpy_scored = CachedAnswer("答案", (Source("k", "问题", "答案", np.float32(0.75)),), 1.0, "faq")
    cache.put("acme", 3, 42, "问题 一", numpy_scored)  # from synchronous code on the loop: written in the background
    await cache.flush()
    key = f"{prefix}{{acme}}:3:42:{hashlib.sha1(question_key('问题一').encode()).hexdigest()}"
    assert orjson.loads(await redis_client.get(key)) == {
        "text": "答案",
        "sources": [
            {
                "id": "k",
                "title": "问题",
                "snippet": "答案",
                "score": 0.75,
                "kind": "faq",
                "document": "",
                "section": "",
                "position": 0,
            }
        ],
        "confidence": 1.0,
        "answered_by": "faq",
    }
    assert 3_500_000 < await redis_client.pttl(key) <= 3_600_000  # old versions age out


async def test_an_unreadable_value_is_a_miss(
    make_cache: Callable[..., SharedAnswerCache], redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache()
    await redis_client.set(cache.redis_key("t", 1, 1, question_key("问题")), b'{"text": "only text"}')
    with caplog.at_level(logging.WARNING, logger="kefu.conversation.cache"):
        assert await cache.aget("t", 1, 1, "问题") is None
    assert any("unreadable" in r.getMessage() for r in caplog.records)


async def test_blank_answers_and_a_cache_turned_off_are_not_stored(
    make_cache: Callable[..., SharedAnswerCache], prefix: str, redis_client: aioredis.Redis
) -> None:
    cache, off = make_cache(), make_cache(maxsize=0)
    await cache.aput("t", 1, 1, "问题", CachedAnswer("  ", (), 1.0, "faq"))
    await off.aput("t", 1, 1, "问题", ANSWER)
    assert [k async for k in redis_client.scan_iter(match=prefix + "*")] == []
    await cache.aput("t", 1, 1, "问题", ANSWER)
    assert await off.aget("t", 1, 1, "问题") is None


async def test_a_cancelled_lookup_is_cancelled(make_cache: Callable[..., SharedAnswerCache]) -> None:
    """A turn whose customer left is cancelled, also while it waits for Redis (which must not swallow it)."""
    a, b = make_cache(), make_cache()
    await a.aput("t", 1, 1, "问题", ANSWER)
    for _ in range(50):
        b.clear()
        lookup = asyncio.ensure_future(b.aget("t", 1, 1, "问题"))
        await asyncio.sleep(random.uniform(0, 0.0005))
        if lookup.cancel():
            assert isinstance((await asyncio.gather(lookup, return_exceptions=True))[0], asyncio.CancelledError)
        else:
            assert lookup.result() == ANSWER
    assert await b.aget("t", 1, 1, "问题") == ANSWER  # the client is still in order


def test_put_outside_an_event_loop_stays_in_this_process() -> None:
    cache = SharedAnswerCache(DOWN_URL, prefix=f"kefu:test:ac:{uuid.uuid4().hex}:")
    before = fallbacks()
    cache.put("t", 1, 1, "问题", ANSWER)
    assert cache.get("t", 1, 1, "问题") == ANSWER and fallbacks() == before


def test_the_deployment_picks_the_cache(tmp_path: Path) -> None:
    assert type(answer_cache(make_settings(tmp_path))) is AnswerCache
    assert type(answer_cache(make_settings(tmp_path, redis_url=REDIS_URL))) is SharedAnswerCache
    assert type(answer_cache(make_settings(tmp_path, redis_url=REDIS_URL, answer_cache_size=0))) is AnswerCache


def test_each_database_has_its_own_answers_in_redis(tmp_path: Path) -> None:
    # knowledge versions count per database: two databases behind one Redis never share an answer ...
    shared = answer_cache(make_settings(tmp_path, redis_url=REDIS_URL))
    assert isinstance(shared, SharedAnswerCache) and shared.prefix == shared_prefix(f"sqlite:///{tmp_path / 'kefu.db'}")
    assert shared_prefix("sqlite:///a/kefu.db") != shared_prefix("sqlite:///b/kefu.db")
    # ... and the instances of one deployment share theirs, whatever credentials each uses
    pg = "postgresql+psycopg2://{}@db.internal:5432/kefu"
    assert (
        shared_prefix(pg.format("kefu_a:secret"))
        == shared_prefix(pg.format("kefu_b:other"))
        != shared_prefix(pg.format("kefu_a:secret").replace("/kefu", "/other"))
    )
    assert "secret" not in shared_prefix(pg.format("kefu_a:secret")) and shared.prefix.startswith("kefu:ac:")


async def test_redis_down_the_local_cache_answers(
    make_cache: Callable[..., SharedAnswerCache], caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache(DOWN_URL)
    cache.outage.retry_after_failure_s = 0.0  # try Redis every time: still one warning, never an exception
    before = fallbacks()
    with caplog.at_level(logging.WARNING, logger="kefu.conversation.cache"):
        assert await cache.aget("t", 1, 1, "问题") is None  # looked up: counted
        await cache.aput("t", 1, 1, "问题", ANSWER)  # written: counted
        assert await cache.aget("t", 1, 1, "问题") == ANSWER  # a local hit does not ask Redis
        assert await cache.aget("t", 1, 1, "另一个问题") is None
    assert fallbacks() == before + 3
    warnings = [r for r in caplog.records if r.name == "kefu.conversation.cache"]
    assert len(warnings) == 1 and "Redis unavailable" in warnings[0].getMessage()


async def test_the_shared_cache_recovers_when_redis_comes_back(
    make_cache: Callable[..., SharedAnswerCache], redis_client: aioredis.Redis
) -> None:
    with FaultProxy(6379, name="redis").start() as proxy:
        proxy.cut()  # Redis is down: nothing listens
        cache, other = make_cache(f"redis://{proxy.address}/0"), make_cache()
        cache.outage.retry_after_failure_s = 0.05
        before = fallbacks()
        assert await cache.aget("t", 1, 1, "问题") is None  # refused
        await cache.aput("t", 1, 1, "问题", ANSWER)  # within the back-off: Redis is not even tried
        assert fallbacks() == before + 2
        assert await other.aget("t", 1, 1, "问题") is None
        proxy.heal()
        await asyncio.sleep(0.06)
        await cache.aput("t", 1, 1, "另一个问题", ANSWER)
        assert await other.aget("t", 1, 1, "另一个问题") == ANSWER  # shared again
        await other.aput("t", 1, 1, "第三个问题", ANSWER)
        assert await cache.aget("t", 1, 1, "第三个问题") == ANSWER
        assert fallbacks() == before + 2
        # Redis goes away again mid-service: answers still come from the LRU
        proxy.cut()
        assert await cache.aget("t", 1, 1, "第三个问题") == ANSWER
        assert await cache.aget("t", 1, 1, "第四个问题") is None
        assert fallbacks() == before + 3


# ------------------------------------------------------------------------------------------ two instances


def _shared(client: TestClient, prefix: str) -> SharedAnswerCache:
    cache = client.app.state.services.pipeline.cache  # type: ignore[attr-defined]
    assert isinstance(cache, SharedAnswerCache)
    cache.prefix = prefix  # this test's own keys (another test's database has the same versions)
    return cache


@pytest.fixture
def two_instances(tmp_path: Path, prefix: str) -> Iterator[tuple[TestClient, TestClient, QueueEngine]]:
    """Two kefu instances over one SQLite database and one Redis; the second's engine is recorded."""
    settings = make_settings(tmp_path, redis_url=REDIS_URL)
    a = create_app(settings, engine=QueueEngine(default_reply="礼品卡不能兑换现金。"), configure_logs=False)
    engine_b = QueueEngine()
    b = create_app(settings.model_copy(update={"setup_on_start": False}), engine=engine_b, configure_logs=False)
    with TestClient(a, headers=ADMIN_HEADERS) as ca, TestClient(b, headers=ADMIN_HEADERS) as cb:
        caches = [_shared(ca, prefix), _shared(cb, prefix)]
        yield ca, cb, engine_b
        for client, cache in zip((ca, cb), caches, strict=True):
            client.portal.call(cache.aclose)  # type: ignore[union-attr]


def _flush(client: TestClient) -> None:
    client.portal.call(client.app.state.services.pipeline.cache.flush)  # type: ignore[union-attr,attr-defined]


def test_a_question_answered_on_one_instance_is_a_cache_hit_on_the_other(
    two_instances: tuple[TestClient, TestClient, QueueEngine],
) -> None:
    ca, cb, engine_b = two_instances
    first = ca.post("/api/chat", json={"text": "退款大概几天能到我账上"}).json()
    assert first["answered_by"] == "faq"
    _flush(ca)  # the write to Redis went out in the background
    redis_hits = lookups("hit_redis")
    again = cb.post("/api/chat", json={"text": "退款大概几天能到我账上？"}).json()
    assert again["answered_by"] == "cache" and again["text"] == first["text"]
    assert again["sources"] == first["sources"] and again["confidence"] == first["confidence"]
    assert lookups("hit_redis") == redis_hits + 1

    # a generated first answer too: B's engine is not asked
    generated = ca.post("/api/chat", json={"text": "礼品卡能换成现金吗"}).json()
    assert generated["answered_by"].startswith("stand-in")
    _flush(ca)
    assert cb.post("/api/chat", json={"text": "礼品卡能换成现金吗"}).json()["answered_by"] == "cache"
    assert engine_b.prompts == []

    # an edit (a new knowledge version) misses everywhere
    edited = {"question": "退款多久到账？", "answer": "退款将在1个工作日内原路退回。", "similar": ["退款几天到账"]}
    assert ca.put("/admin/kb/faqs/zh-refund-time", json=edited).status_code in (200, 201)
    after: dict = {}
    for _ in range(50):  # B hears of the edit over Redis in about a millisecond
        after = cb.post("/api/chat", json={"text": "退款大概几天能到我账上"}).json()
        if "1个工作日" in after["text"]:
            break
        asyncio.run(asyncio.sleep(0.02))
    assert after["answered_by"] == "faq" and "1个工作日" in after["text"]


def test_with_redis_down_answers_still_come_and_the_local_cache_works(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, redis_url=DOWN_URL), engine=QueueEngine(), configure_logs=False)
    with TestClient(app, headers=ADMIN_HEADERS, raise_server_exceptions=True) as client:
        before = fallbacks()
        first = client.post("/api/chat", json={"text": "退款大概几天能到我账上"})
        again = client.post("/api/chat", json={"text": "退款大概几天能到我账上"})
        assert first.status_code == again.status_code == 200
        assert first.json()["answered_by"] == "faq" and again.json()["answered_by"] == "cache"
        assert fallbacks() >= before + 2  # the first lookup and the write
        client.portal.call(client.app.state.services.pipeline.cache.aclose)  # type: ignore[union-attr,attr-defined]
