from kefu.conversation.prompt import build_prompt, estimate_tokens
from kefu.knowledge.service import Passage
from kefu.text import is_chinese


def hit(key: str, answer: str, score: float = 0.5) -> Passage:
    return Passage(key, "faq", f"问题{key}", answer, score)


def test_estimate_tokens_counts_cjk_per_character() -> None:
    assert estimate_tokens("你好世界") == 4
    assert estimate_tokens("hello world!") == 4
    assert is_chinese("退款 refund") and not is_chinese("refund please")


def test_history_trimmed_oldest_first() -> None:
    history = [("user", f"旧问题{i}" * 20) if i % 2 == 0 else ("assistant", f"旧回答{i}" * 20) for i in range(30)]
    msgs = build_prompt("系统", [], history, "新问题", context_window=600, max_tokens=100)
    assert msgs[0].role == "system" and msgs[-1].content == "新问题"
    kept = [m.content for m in msgs[1:-1]]
    assert 0 < len(kept) < 30
    assert kept[-1] == history[-1][1]  # the newest turns survive
    assert sum(estimate_tokens(m.content) + 6 for m in msgs) <= 600 - 100


def test_sources_in_system_prompt_and_kept_before_history() -> None:
    hits = [hit("a", "答案A" * 10), hit("b", "答案B" * 10)]
    msgs = build_prompt("你是客服。", hits, [("user", "很长的历史" * 200)], "问", context_window=400, max_tokens=100)
    assert "答案A" in msgs[0].content and "答案B" in msgs[0].content
    assert len(msgs) == 2  # the long history did not fit, the sources did


def test_question_longer_than_window_is_cut() -> None:
    msgs = build_prompt("sys", [], [], "长" * 5000, context_window=1024, max_tokens=256)
    assert estimate_tokens(msgs[-1].content) <= 1024 - 256
    assert msgs[-1].content.startswith("长")


def test_chunks_cited_with_document_and_section() -> None:
    chunk = Passage(
        "c7", "chunk", "退换货政策.md › 退货运费", "质量问题的退货运费由商家承担。", 0.8, "退换货政策.md", "退货运费"
    )
    msgs = build_prompt("你是客服。", [hit("a", "答案A"), chunk], [], "退货运费谁出", 2048, 256)
    assert "《退换货政策.md › 退货运费》" in msgs[0].content and "由商家承担" in msgs[0].content
    assert msgs[0].content.index("[1]") < msgs[0].content.index("[2]")
