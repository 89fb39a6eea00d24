"""The answer policy: what a customer gets when the bot is not sure. Every reply is an answer the bot is
confident of, an honest clarification ("您是想问以下哪个问题？"), an honest decline with a person offered,
or a hand-off, never a guess.

`decide` reads the knowledge base's `Lookup` and the bot's settings and returns one `Decision`; the
pipeline carries it out. The confidence of an answer is a calibrated probability that it is right
(conversation/confidence.py); the bot's `confidence_threshold` (0.85 by default, the seed articles'
"置信度低于0.85转人工") is the least an answer may have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from kefu.conversation.confidence import ConfidenceModel
from kefu.knowledge.service import Lookup, Passage
from kefu.knowledge.text import bigrams
from kefu.ops.settings import PolicySettings
from kefu.store.repo import BotView
from kefu.text import is_chinese, normalise, question_key


@dataclass(frozen=True)
class BotPolicy:
    """A bot profile's policy settings, each falling back to the settings' default."""

    threshold: float
    clarify_threshold: float
    generation: str  # "on" | "off" | "auto"
    service_hours: str
    handoff_phone: str
    timezone: str
    failed_turns_handoff: int

    @classmethod
    def of(cls, bot: BotView, defaults: PolicySettings) -> BotPolicy:
        return cls(
            bot.confidence_threshold,
            defaults.clarify_threshold if bot.clarify_threshold is None else bot.clarify_threshold,
            bot.generation or defaults.generation,
            bot.service_hours or defaults.service_hours,
            defaults.handoff_phone if bot.handoff_phone is None else bot.handoff_phone,
            defaults.timezone,
            defaults.failed_turns_handoff,
        )

    def in_hours(self, now: datetime | None = None) -> bool:
        """Whether people are at work now, in the bot's time zone ("21:00-09:00" spans midnight)."""
        start, end = (time.fromisoformat(p.zfill(5)) for p in self.service_hours.split("-"))
        t = (now or datetime.now(ZoneInfo(self.timezone))).astimezone(ZoneInfo(self.timezone)).time()
        return start <= t < end if start <= end else (t >= start or t < end)


@dataclass(frozen=True)
class Suggestion:
    id: str
    question: str

    def public(self) -> dict:
        return {"id": self.id, "question": self.question}


@dataclass
class PolicyState:
    """What the policy remembers between a session's turns (stored with the session)."""

    suggest: list[Suggestion] = field(default_factory=list)  # the last clarification's, until answered
    asked: str = ""  # the question that clarification was for (the labelled pair's question)
    failed: int = 0  # turns in a row without an answer

    @classmethod
    def load(cls, raw: dict) -> PolicyState:
        try:
            return cls(
                [Suggestion(str(s["id"]), str(s["question"])) for s in raw.get("suggest", [])][:5],
                str(raw.get("asked", ""))[:500],
                int(raw.get("failed", 0)),
            )
        except (TypeError, KeyError, ValueError, AttributeError):
            return cls()  # a state this version cannot read starts afresh

    def dump(self) -> dict:
        return {"suggest": [s.public() for s in self.suggest], "asked": self.asked, "failed": self.failed}


@dataclass(frozen=True)
class Decision:
    """What the policy chose. action: "faq" (answer from `faq`), "document" (quote `passage`), "generate"
    (the engine writes from the sources), "clarify" (offer `suggestions`), "decline", "handoff"."""

    action: str  # or "small_talk" (a greeting, thanks, goodbye: a set reply of kind `reason`)
    confidence: float
    faq: Passage | None = None
    passage: Passage | None = None
    suggestions: tuple[Suggestion, ...] = ()
    reason: str = ""  # a hand-off's: "request" | "complaint" | "failed_turns" | "low_confidence"


def generation_on(policy: BotPolicy, embedded_engine: bool) -> bool:
    """ "auto": on for the company's own engine, off for the embedded SmolLM2-135M, whose replies were wrong or
    loops in 18 of 20 English questions and nearly all Chinese ones (docs/policy.md): with it, customers get
    FAQ answers, quoted documents, clarifications and set replies to small talk."""
    if policy.generation != "auto":
        return policy.generation in ("on", "always")
    return not embedded_engine


def decide(
    question: str, look: Lookup, policy: BotPolicy, state: PolicyState, model: ConfidenceModel, *, generate: bool
) -> Decision:
    """The reply to give: the surest answer if it reaches the bot's threshold; else the FAQ entries worth
    offering; else an honest decline (or a person, once too many turns went unanswered, or when something
    in the knowledge base looks relevant but not enough to answer from)."""
    if (talk := small_talk(question)) is not None:  # 你好 / 谢谢 / 再见: the engine's own words, or a set reply
        return Decision("generate" if generate else "small_talk", 1.0, reason=talk)
    ps = model.faq(look)  # per FAQ candidate
    ranked = sorted(range(len(ps)), key=lambda i: -ps[i])
    p_faq = ps[ranked[0]] if ps else 0.0
    entry = look.faq_passages.get(look.matches[ranked[0]].id) if ps else None
    p_doc, chunk = model.document(look)
    # what a clarification would offer (the best FAQ questions, the document section), surest first
    offers = [(ps[i], Suggestion(look.matches[i].id, look.questions[look.matches[i].id])) for i in ranked
              if ps[i] >= SUGGEST_MIN] if p_faq >= policy.clarify_threshold else []  # fmt: skip
    if chunk is not None and p_doc >= policy.clarify_threshold:
        offers.append((p_doc, Suggestion(DOC_PREFIX + chunk.id, section_of(chunk))))
    offers = sorted(offers, key=lambda o: -o[0])[:3]
    suggestions = tuple(s for _, s in offers)
    if entry is not None and p_faq >= policy.threshold and p_faq >= p_doc:
        fast = look.faq is not None and look.faq.id == entry.id  # the matcher's own "same question"
        action = "faq" if fast or not generate else "generate"
        return Decision(action, p_faq, faq=entry, suggestions=suggestions)
    if chunk is not None and p_doc >= policy.threshold:
        return Decision("generate" if generate else "document", p_doc, passage=chunk, suggestions=suggestions)
    if (
        entry is not None
        and suggestions
        and suggestions[0].id == entry.id
        and question_key(question) == question_key(suggestions[0].question)
    ):  # asked in the entry's own words (shared with another entry's wordings): offering it back is no help
        return Decision("faq", p_faq, faq=entry, suggestions=suggestions)
    if policy.generation == "always":  # the operator's choice: the engine answers whatever the FAQ does not
        return Decision("generate", max(p_faq, p_doc), faq=entry, passage=chunk, suggestions=suggestions)
    # A clarification is right when the entry meant is among its suggestions; a decline when none of the
    # candidates is (at most one is: the probabilities add up).
    offered = model.clarified(min(sum(p for p, _ in offers), 0.99))
    none_right = model.declined(max(1.0 - sum(ps) - p_doc, 0.01))
    if state.failed + 1 >= policy.failed_turns_handoff:  # the second turn in a row without an answer: a person
        return Decision("handoff", max(p_faq, p_doc), suggestions=suggestions, reason="failed_turns")
    if suggestions:
        return Decision("clarify", offered, suggestions=suggestions)
    # nothing good enough: said honestly, with a person offered (转人工)
    return Decision("decline", none_right)


# An FAQ entry beside the best one is offered when it is at least this likely to be the one.
SUGGEST_MIN = 0.05
# A suggestion that is a document section, not an FAQ entry: "doc:<chunk id>"; picking it quotes the chunk.
DOC_PREFIX = "doc:"


def section_of(chunk: Passage) -> str:
    """A document chunk as a clarification offers it: its section's title, and the document's."""
    title = chunk.section.split(">")[-1].strip() or chunk.title
    return f"{title}（{chunk.document.rsplit('.', 1)[0]}）" if chunk.document else title


_SMALL_TALK = re.compile(
    r"^(?:(?:你好|您好|hello|hi|hey|哈喽|嗨|在吗|在不在|有人吗|早上好|晚上好|下午好|早|谢谢|多谢|感谢|谢啦|thanks?|"
    r"thank you|thx|ok|好的|嗯|哦|好|再见|拜拜|bye|good ?bye|你是谁|你是机器人吗|are you a bot|who are you)"
    r"[\s,，.。!！?？~～呀啊哈呢吧你您]*)+$",
    re.IGNORECASE,
)
SMALL_TALK = {
    "greet": ("您好！我是智能客服，请问有什么可以帮您？", "Hello! I'm the virtual assistant. How can I help you?"),
    "thanks": ("不客气，还有其他问题随时问我。", "You're welcome! Ask me anything else anytime."),
    "bye": ("感谢您的咨询，祝您生活愉快，再见！", "Thanks for reaching out. Have a great day, goodbye!"),
    "who": (
        "我是本店的智能客服，可以解答订单、物流、退换货、发票、支付和会员等问题；需要时可以回复“转人工”。",
        "I'm the shop's virtual assistant: orders, shipping, returns, invoices, payment and membership. "
        'Reply "human" any time for an agent.',
    ),
}


def small_talk(text: str) -> str | None:
    """The kind of a greeting, thanks, goodbye or "who are you" (a short message that is only that), else None."""
    t = normalise(text).strip()
    if len(t) > 24 or not _SMALL_TALK.match(t):
        return None
    if re.search(r"谢|thank|thx", t):
        return "thanks"
    if re.search(r"再见|拜拜|bye", t):
        return "bye"
    if re.search(r"谁|机器人|bot|who", t):
        return "who"
    return "greet"


_ORDINALS = {
    "1": 0, "2": 1, "3": 2, "一": 0, "二": 1, "两": 1, "三": 2, "first": 0, "second": 1, "third": 2,
    "one": 0, "two": 1, "three": 2, "1st": 0, "2nd": 1, "3rd": 2, "①": 0, "②": 1, "③": 2,
}  # fmt: skip
_PICK = re.compile(
    r"^\s*(?:第\s*)?(?P<n>[123一二两三①②③]|first|second|third|one|two|three|1st|2nd|3rd)\s*"
    r"(?:个|条|项|号|题|个问题|吧|啊|呀|的|哦|)?\s*(?:问题)?\s*(?:the\s+)?(?:one|option|question)?\s*[.。!！、)）]*\s*$",
    re.IGNORECASE,
)
_PICK_EN = re.compile(
    r"^\s*(?:the\s+)?(?:(?:option|number|no\.?|#)\s*(?P<n>[123])|(?P<w>first|second|third)(?:\s+(?:one|option|question))?)"
    r"\s*[.!]*\s*$",
    re.IGNORECASE,
)


def pick(text: str, suggestions: list[Suggestion]) -> Suggestion | None:
    """The suggestion the customer chose: its number ("2", "第二个", "the first one"), its words (the chat
    page's button sends the question itself), or a message that is plainly one of them; else None."""
    if not suggestions:
        return None
    t = normalise(text).strip()
    m = _PICK.match(t) or _PICK_EN.match(t)
    if m is not None:
        i = _ORDINALS.get((m.group("n") or m.groupdict().get("w") or "").lower())
        return suggestions[i] if i is not None and i < len(suggestions) else None
    key = question_key(text)
    for s in suggestions:
        if key and key == question_key(s.question):
            return s
    # a message mostly made of one suggestion's words, and clearly more of it than of the others
    mine = bigrams(text)
    if not mine or len(t) > 60:
        return None
    overlaps = sorted(
        ((len(mine & bigrams(s.question)) / len(mine), i) for i, s in enumerate(suggestions)), reverse=True
    )
    best, i = overlaps[0]
    runner = overlaps[1][0] if len(overlaps) > 1 else 0.0
    return suggestions[i] if best >= 0.75 and best - runner >= 0.25 else None


_SENTENCE = re.compile(r"[^。！？!?\n；;]+[。！？!?；;]?")


def quote(question: str, passage: Passage, limit: int = 160) -> str:
    """The sentences of a document passage that answer the question, in their order, cited: what a customer
    gets from a document when no engine writes the reply."""
    sentences = [s.strip() for s in _SENTENCE.findall(passage.text) if s.strip() and not s.strip().startswith("#")]
    if not sentences:
        return ""
    q = bigrams(question) | bigrams(passage.section)
    scored = [(len(q & bigrams(s)), -i, s) for i, s in enumerate(sentences)]
    chosen: list[tuple[int, str]] = []
    size = 0
    for overlap, neg_i, s in sorted(scored, reverse=True):
        if chosen and (overlap == 0 or size + len(s) > limit):
            break
        chosen.append((-neg_i, s))
        size += len(s)
    body = "".join(s for _, s in sorted(chosen))
    document = passage.document.rsplit(".", 1)[0] if passage.document else passage.title
    section = passage.section.split(">")[-1].strip()
    where = f"《{document}》" + (f"“{section}”一节" if section and section != document else "")
    if is_chinese(question):
        return f"根据{where}：“{body}”"
    return f"From {where} (in Chinese): “{body}”"


# What the customer reads, (zh, en).
CLARIFY = ("您是想问以下哪个问题？请点选或回复序号：", "Did you mean one of these? Tap one or reply with its number:")
CLARIFY_ONE = ("您是想问这个吗？请点选或回复 1：", "Did you mean this? Tap it or reply 1:")
DECLINE = (
    "抱歉，这个问题我们的知识库里暂时没有答案，我不想随便回答误导您。您可以换个说法再问，或回复“转人工”由人工客服为您解答。",
    "Sorry, our knowledge base doesn't cover this, and I'd rather not guess. You can rephrase the question, or "
    'reply "human" to talk to an agent.',
)
_HANDOFF_OPEN = {
    "request": ("好的，正在为您转接人工客服。", "Sure, I'm connecting you with a human agent."),
    "complaint": (
        "非常抱歉给您带来不好的体验，我马上为您转接人工客服处理。",
        "I'm very sorry about your experience. I'm passing you to a human agent right away.",
    ),
    "failed_turns": (
        "抱歉没能帮到您，我为您转接人工客服。",
        "Sorry I couldn't help with that. I'm passing you to a human agent.",
    ),
    "low_confidence": (
        "这个问题我不能确定答案，为免误导您，我为您转接人工客服。",
        "I'm not sure of the answer and don't want to mislead you, so I'm passing you to a human agent.",
    ),
}


def handoff_notice(reason: str, policy: BotPolicy, zh: bool, now: datetime | None = None) -> str:
    """What happens next, in the customer's language, within or outside the service hours."""
    lang = 0 if zh else 1
    opening = _HANDOFF_OPEN.get(reason, _HANDOFF_OPEN["request"])[lang]
    phone = policy.handoff_phone
    if policy.in_hours(now):
        rest = (
            "客服接入后会在这里直接回复您，请稍候，您可以继续留言补充情况。",
            " An agent will reply right here shortly; feel free to add details while you wait.",
        )[lang]
    else:
        rest = (
            f"现在不在人工服务时间（每天{policy.service_hours}），您的留言已记录，客服上班后会第一时间回复您。",
            f" Our agents work {policy.service_hours} every day, so none is online now. Your message is recorded "
            "and an agent will reply first thing.",
        )[lang]
    if phone:
        rest += (f"紧急问题可拨打客服热线{phone}。", f" For urgent matters, call {phone}.")[lang]
    return opening + rest


def pending_notice(policy: BotPolicy, zh: bool, now: datetime | None = None) -> str:
    """The acknowledgement while a session waits for an agent: the bot does not answer on its own."""
    if policy.in_hours(now):
        return (
            "已收到，您的消息会转给人工客服，请稍候。",
            "Got it: your message will reach the agent. Please hold on.",
        )[0 if zh else 1]
    return (
        f"已收到，您的留言已记录，人工客服在服务时间（每天{policy.service_hours}）会尽快回复您。",
        f"Got it: your message is recorded and an agent will reply during service hours ({policy.service_hours}).",
    )[0 if zh else 1]


def clarification(suggestions: tuple[Suggestion, ...], zh: bool) -> str:
    """The clarification as text: numbered lines, for channels without buttons (and /v1 clients)."""
    lines = [(CLARIFY if len(suggestions) > 1 else CLARIFY_ONE)[0 if zh else 1]]
    lines += [f"{i}. {s.question}" for i, s in enumerate(suggestions, 1)]
    return "\n".join(lines)


def decline(zh: bool) -> str:
    return DECLINE[0 if zh else 1]
