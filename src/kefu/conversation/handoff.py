"""Does a customer message ask for a human agent? Two reasons, decided by rules, not a model: the check
runs on every turn before retrieval, so it must be instant, explainable in the log ("cue") and stable.

- "request": the customer asks for a person (转人工, 人工客服, 叫你们经理, "talk to a human"). Explicit wording
  is unambiguous, so one cue decides, unless a negation stands right before it (不用转人工, "don't transfer
  me") or the word is a look-alike (人工费, 人工智能, 收件人呢, "human hair").
- "complaint": an angry customer. No single signal is reliable ("太棒了！！！" has exclamations, "垃圾袋" has
  垃圾), so cues add up: a weighted lexicon, then amplifiers (exclamation and question runs, intensifiers,
  accusing 你们/"you people", shouting in capitals, "waited N days and still"), which count only where the
  message already carries some negative signal. The sum is compared with a threshold.

When a message has both, "request" wins: it is what the customer literally asked for.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from kefu.text import normalise

__all__ = ["COMPLAINT_THRESHOLD", "HandoffAsk", "handoff_ask", "without_declined_request"]


@dataclass(frozen=True)
class HandoffAsk:
    reason: str  # "request" (explicitly asks for a human) or "complaint" (angry / complaining customer)
    score: float  # 0..1, how sure
    cue: str  # the words that triggered it, for the log


# Longer messages are pasted logs or order details; the cues that matter sit in the first few hundred
# characters, and a bound keeps the check fast on anything.
_MAX_CHARS = 2000
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_BREAK = r"[\s,.;:!?，。；：！？、~…]"

# --- request -------------------------------------------------------------------------------------------

# 人工 that is not another word: 人工费 (labour cost), 人工智能 (AI), 人工湖, 人工草坪, 人工调节 ...
_RENGONG = (
    r"(?:人工|仁工|人宫|人攻|人公)"
    r"(?!费|智能|湖|草|降|成本|合成|制|繁|养|种|授|呼吸|关节|晶|钻|宝|皮|革|色素|甜|香|岛|河|林|心|骨|调|控)"
)
_BOSS = r"(?:经理|负责人|主管|领导|店长|老板|管事的|能做主的人)"
_REQUEST_ZH: list[tuple[str, float]] = [
    (r"[转轉](?:个|一下|接|给我|到)?" + _RENGONG, 0.97),
    (_RENGONG + r"(?:客服|服务|坐席|介入|处理|回复|来|在|呢|吗|啊|!|！)", 0.95),
    (r"(?:找|接|要|联系|换|叫|需要|申请|切换|接通|有没有|有)(?:个|一下|一个|位)?" + _RENGONG, 0.93),
    (r"(?:找|要|转|换|接|和|跟|与|让|有|叫)(?:个|一个|位)?(?:真人|活人)(?!秀|版|模特|大小|拍|尺寸|比例)", 0.92),
    (r"真人客服|真人(?:在|呢|回复|服务|来|说话|聊)", 0.92),
    (r"(?:叫|找|让|请|要)(?:你们|你家|贵店|贵公司)?(?:的)?(?:客服)?" + _BOSS, 0.9),
    (_BOSS + r"(?:出来|来|在哪|呢|跟我|和我|联系我)", 0.88),
    (r"客服经理", 0.9),
    (
        r"(?:找|叫|给我找)(?:个|一个)?(?:管事|能做主|说了算)的"
        r"|(?:不要|不想跟|不想和|别用|别拿)机器人|机器人(?:听不懂|没用|答非所问)",
        0.85,
    ),
    (r"(?:找|叫)个人来|(?:客服人员|工作人员)(?:联系我|通话|跟我)|(?:和|跟)客服人员(?:通话|说|聊)", 0.85),
    # 人呢 after a break or 客服/你们, not 收件人呢 / 老人呢 (those ask about a person in the order).
    (r"(?:^|(?<=[\s,.;:!?，。；：！？、~…])|(?<=客服)|(?<=你们))人呢", 0.8),
    (r"^有人(?:在)?吗|(?<=[\s,.;:!?，。；：！？、~…])有人(?:在)?吗|有没有人在", 0.78),
    (r"没人(?:回复|回|理)", 0.75),
    (
        r"(?:找|要|叫|换|来|让|请)(?:个|一个|位)?客服(?:小姐姐|小哥哥|妹子|美女|帅哥|mm)"
        r"|客服(?:小姐姐|小哥哥|妹子|美女|帅哥)(?:在吗|呢|出来)",
        0.85,
    ),
    (r"(?:来|上|派|换)(?:个|一个|位)(?:人工|真人|活人|客服)", 0.9),
    (r"(?:跟|和|同)(?:你们)?" + _BOSS + r"(?:说|谈|聊|讲|通话|沟通)", 0.9),
    (r"(?:给我|跟我)(?:打|回)(?:个|一个|一通)?电话|(?:打|回)(?:个|一个)?电话给我|电话联系我", 0.85),
    (r"客服客服|^客服[?？!！。.]*$", 0.8),
    (r"rengong|ren gong|renggong|rg客服", 0.9),
    (r"(?:给我|来|派)(?:个|一个|位)(?:真人|活人)|(?:找|叫|派)(?:个|一个|位)客服(?:来|过来|处理|跟我)", 0.88),
]
_REQUEST_EN: list[tuple[str, float]] = [
    (
        r"\b(?:talk|speak|chat|connect|transfer)(?: me)?(?: (?:to|with))? (?:a |an |the |your )?"
        r"(?:real |live |actual |human )?(?:human|person|agent|representative|rep|someone|somebody|operator|"
        r"supervisor|manager|customer service|staff member|member of staff)\b",
        0.95,
    ),
    (
        r"\b(?:is there|are there|any|need|want|get|give me|with|to) (?:a |an )?(?:real|live|actual) "
        r"(?:person|human|agent|people)\b",
        0.93,
    ),
    (r"\b(?:human|agent|operator|representative|rep|person)(?: please| pls| plz|,? now)\b", 0.95),
    (
        r"\b(?:need|want|get me|give me|reach|escalate to)(?: to talk to| for)? (?:a |an )?(?:real )?"
        r"(?:human|person|agent|representative|operator)\b",
        0.9,
    ),
    (r"\bhuman agent\b|\blive agent\b|\btransfer me\b", 0.9),
    (r"\b(?:human|agent|manager|supervisor|representative|operator|person)[,!. ]*(?:please|pls|plz)\b", 0.95),
    (
        r"\b(?:want|need|get|give me|find)(?: me)? (?:a |an |the |your )?(?:customer service |real |live |actual )?"
        r"(?:rep|representative|supervisor|manager|human being|real human|real person)\b",
        0.92,
    ),
    (
        r"\b(?:supervisor|manager) (?:on|in|here|now)\b"
        r"|(?:\b(?:to a|with a|want a|need a|get a|want|need)|[\u4e00-\u9fff]) ?real (?:human|person)\b",
        0.88,
    ),
    (
        r"\b(?:talk|speak|chat) (?:to|with) (?:ur|your|the) (?:manager|supervisor|boss)\b"
        r"|\bget me (?:someone|somebody|a person)\b|\bnot a (?:bot|robot|machine)\b",
        0.9,
    ),
    (r"\bcall me (?:back|now)?\b|\bphone me\b|\bgive me a call\b", 0.85),
    (r"\b(?:have|is there|are there) (?:a|an|any) (?:real )?(?:human|person|people|agent)s? (?:i|we) can\b", 0.85),
    (r"\b(?:is )?any(?:one|body) (?:there|here|available)\b", 0.8),
    (r"\bsomeone from your (?:team|company|store) (?:call|contact|email)\b", 0.85),
]
# A one- to three-word message that is just the word: "human", "agent", "人工", "人工人工".
_BARE = re.compile(
    r"^(?:(?:人工|仁工|人宫)+(?:吧|啊|呀|呢|谢谢)?|(?:human|agent|operator|representative|person|manager|supervisor)+|真人)$"
)
_BARE_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)
_TOKEN_SPLIT = re.compile(_BREAK + "+")
# A negation right before the cue (same clause): 不用转人工, 别转人工, 不要人工, "no need for", "don't".
_NEG = re.compile(
    r"(?:不用|不需|不要|不想要|不必|别|无需|没必要|用不着|先不|暂时不|免了|不是要)[^,.;:!?，。；：！？]{0,3}$"
    r"|\b(?:no need|don'?t|do not|not|never|without|no)\b[^,.;:!?]{0,20}$"
)

_REQ_RE = re.compile("|".join(f"(?P<z{i}>{p})" for i, (p, _) in enumerate(_REQUEST_ZH)))
_REQ_EN_RE = re.compile("|".join(f"(?P<e{i}>{p})" for i, (p, _) in enumerate(_REQUEST_EN)))
_REQ_WEIGHT = {f"z{i}": w for i, (_, w) in enumerate(_REQUEST_ZH)} | {
    f"e{i}": w for i, (_, w) in enumerate(_REQUEST_EN)
}


def _negated(text: str, start: int, first: str) -> bool:
    """A negator in the few characters before the cue (its first character included: 不+要人工)."""
    return bool(_NEG.search(text[max(0, start - 24) : start] + first[:1]))


# Talk about the human service, not a request for it: what an agent said (之前人工客服说会补发), how it differs
# (人工客服和机器人有什么区别), when agents work or how long one waits (人工客服几点上班, 找人工一般要等多久): the FAQ
# answers those. (怎么转人工 stays a request: the customer wants one.)
_ABOUT_HUMAN = re.compile(
    r"区别|之前|刚才|已经和|聊过|说过|说会|说的|答应|几点|什么时候上班|上班时间|工作时间|服务时间|上班吗|下班|周末|节假日|"
    r"晚上有|夜里有|排队|等多久|要等|等多长"
)
_ABOUT_HUMAN_EN = re.compile(r"\b(?:hours|how long|wait(?:ing)? time|the wait|what time|open on)\b")


def _about_human(text: str, start: int, end: int) -> bool:
    """The cue sits in a clause that asks about the human service (its hours, what an agent said)."""
    clause = re.split(_BREAK, text[:start])[-1] + text[start:end] + re.split(_BREAK, text[end:])[0]
    return bool(_ABOUT_HUMAN.search(clause)) and not re.search(r"[转轉]", text[max(0, start - 2) : end])


def _request(t: str, compact: str) -> HandoffAsk | None:
    if _BARE.match(_BARE_STRIP.sub("", t)):
        return HandoffAsk("request", 0.9, t.strip()[:40])
    # 人工 as a word of its own: "客服 人工", "在吗在吗 人工".
    if any(_BARE.match(tok) and tok.startswith("人工") for tok in _TOKEN_SPLIT.split(t)):
        return HandoffAsk("request", 0.85, "人工")
    best: tuple[float, str] | None = None
    about_en = bool(_ABOUT_HUMAN_EN.search(t))
    for zh, text, rx in ((True, compact, _REQ_RE), (False, t, _REQ_EN_RE)):
        for m in rx.finditer(text):
            if _negated(text, m.start(), m.group()):
                continue
            if _about_human(text, m.start(), m.end()) if zh else about_en:
                continue
            w = _REQ_WEIGHT[m.lastgroup or ""]
            if best is None or w > best[0]:
                best = (w, m.group())
    return HandoffAsk("request", best[0], best[1]) if best else None


# --- complaint -----------------------------------------------------------------------------------------

_LEXICON_ZH: list[tuple[str, float]] = [
    (r"投诉(?!进度|渠道|记录|结果)", 1.0),
    (r"差评", 0.9),
    (r"骗子|骗人|骗钱|诈骗|欺诈", 1.0),
    (r"垃圾(?!袋|桶|分类|篓|箱|处理|车|站|清理|堆|筐)", 0.9),
    (r"破(?:服务|店|玩意|东西|平台|客服|质量)|什么破", 1.0),
    (r"坑人|被坑|坑爹|坑钱|坑我", 1.0),
    (r"退钱", 0.5),
    (r"气死|气炸|气人", 1.0),
    (r"过分", 0.85),
    (r"(?<![\d#])12315(?!\d)|消协|消费者协会|工商局|市场监管", 1.0),
    (r"曝光(?!度|补偿|时间|模式|参数|怎么|过度|不足)|媒体", 0.85),
    (r"报警(?!器|灯|声|功能|装置|系统)", 0.9),
    (r"律师|起诉|法院|告你们|告到", 1.0),
    (r"无语", 0.9),
    (r"(?<!孕吐)(?<!想吐)恶心(?!想吐|呕吐|反胃)", 0.85),
    (r"(?<![衣舒说克佩信制西征])服了", 0.85),
    (r"忍无可忍|受够|烦死|烦不烦", 1.0),
    (r"离谱|黑店|奸商|吃相|欺负|耍我|糊弄|忽悠", 0.9),
    (r"假货|山寨货|以次充好", 0.9),
    (r"举报", 0.9),
    (r"态度(?:太|真|很|极|非常|也太)?(?:差|烂|恶劣)", 0.9),
    (r"(?:太|真|好|很|极|非常|特别)烂|烂透|差劲|差到|极差|太差|真差|这么差|一次比一次差", 0.85),
    (r"不负责|不作为|说话不算话|不讲理|不讲诚信|没诚信", 0.85),
    (r"上当", 0.8),
    (r"(?:给我|要)(?:一)?个说法|讨个说法", 0.9),
    (r"跑路|黑心|无良|没良心|有点良心|废物|坑(?:死|了吧|啊)|是不是故意|(?:有没有|没)人管", 0.9),
    (r"走法律|法律程序|交代|(?:三倍|十倍)?赔偿|(?<!\d)315(?!\d)|平台介入", 0.9),
    (r"最烂|最差|处理个鬼|个鬼啊|别买(?:这家|他家|你们)|忍(?:你们|了很久)|白等|敷衍", 0.9),
    (r"(?:还|赔)钱[!！]|赔钱|算什么[?？!！]?$", 0.9),
    (r"(?:^|[^\u4e00-\u9fff])滚(?:蛋|吧|开)?(?:[^\u4e00-\u9fff]|$)", 0.9),
    (r"有病|有毛病吧|脑子(?:有|进水|坏)", 0.8),
    (r"什么鬼|搞什么|什么玩意", 0.8),
    (r"不满意|失望", 0.6),
    (r"摆设|凭什么", 0.7),
    (r"再也不(?:会)?(?:在|来|买|用)|以后再也不", 0.7),
    (r"催了(?:\d+|[一二三四五六七八九十百千]+)[遍次]|催了好几|八百遍", 0.7),
]
_LEXICON_EN: list[tuple[str, float]] = [
    (r"\bscam(?:s|mer|mers|med)?\b|\bfraudulent\b", 1.0),
    (r"(?<!card )(?<!against )\bfrauds?\b(?! protection| prevention| detection)", 1.0),
    (r"\bridiculous\b|\bunacceptable\b|\bpathetic\b|\bdisgusting\b|\bfed up\b|\bfurious\b", 1.0),
    (r"\brip ?off\b|\bripped off\b", 1.0),
    (r"\bterrible\b|\bawful\b|\bhorrible\b|\bgarbage\b|\buseless\b|\bworst\b(?! case)", 0.85),
    (r"\bcomplaint\b|\bcomplain(?:ing)?\b", 0.95),
    (r"\bsue (?:you|u|your|them|the)\b|\b(?:will|gonna|going to|i'll) sue\b|\blawyer\b|\blegal action\b", 1.0),
    (
        r"\bwtf\b|\bwhat the (?:hell|heck|f)\b|\bkidding me\b|\b(?:is|what|such) a (?:bad )?joke\b|\bjoke of a\b"
        r"|\bnonsense\b",
        0.85,
    ),
    (r"\bangry\b|\bfrustrated\b|\bfrustrating\b|\bupset\b|\bsick of\b|\btired of\b", 0.85),
    (r"\bnever (?:buying|ordering|shopping|buy|order|coming)\b.{0,12}\bagain\b", 0.9),
    (r"\bbbb\b|\b(?:1|one)[- ]star\b|\breport(?:ing)? you\b|\bchargeback\b|\bliars?\b|\blying\b", 0.9),
    (r"\bnobody (?:cares|answers|is answering|helps|replies)\b|\bno one (?:cares|answers|helps)\b", 0.8),
    (r"\bnobody\b|\bcharged me twice\b", 0.4),
    (r"\bdisappointed\b", 0.5),
    (r"\b(?:bad|negative|1[- ]star|one[- ]star) review\b", 0.9),
    (r"\brip-?off\b|\bconsumer protection\b|\bdispute (?:this|the charge)\b|\bamazing service\b\.?$", 1.0),
]
_NEG_COMPLAINT = re.compile(
    r"不是(?:要|想)?投诉|没有要投诉|不投诉|不想投诉|not (?:a )?complain|no complaint|not a complaint"
)

_LEX_RE = re.compile("|".join(f"(?P<z{i}>{p})" for i, (p, _) in enumerate(_LEXICON_ZH)))
_LEX_EN_RE = re.compile("|".join(f"(?P<e{i}>{p})" for i, (p, _) in enumerate(_LEXICON_EN)))
_LEX_WEIGHT = {f"z{i}": w for i, (_, w) in enumerate(_LEXICON_ZH)} | {
    f"e{i}": w for i, (_, w) in enumerate(_LEXICON_EN)
}

# Weaker signals: on their own an ordinary, slightly unhappy question ("快递有点慢"); they add to the rest.
_SOFT_NEG = re.compile(
    r"慢|差|烂|不管|不处理|没人|怎么回事|什么意思|还没|还不|到现在|磨蹭|不给|处理到哪|\bstill\b|\bnothing\b|\bwhy\b|"
    r"没人管|有没有人管|\bagain\b|\bnow\b|\bwhere is my\b|\brefund\b|\bnever\b|\bnobody\b"
)
_WAIT = re.compile(
    r"(?:等了|都|已经)(?:\d+|[一两二三四五六七八九十半几]+)(?:个)?(?:天|周|星期|礼拜|月|小时)(?:了)?.{0,6}?(?:还没|还不|都没|没有)"
    r"|\bwait(?:ed|ing)? (?:for )?(?:\d+|a|two|three|several) (?:days?|weeks?|months?)\b"
)
_INTENS = re.compile(r"太|非常|简直|到底|究竟|真的|实在|极其|根本|\bso\b|\bsuch\b|\bextremely\b|\babsolutely\b")
_ACCUSE = re.compile(r"你们|你家|你这|\byou (?:people|guys)\b|\byour (?:company|store|shop|service)\b")
_EXCL_RUN = re.compile(r"[!！]{2,}|[?？][!！]|[!！][?？]")
_QUES_RUN = re.compile(r"[?？]{2,}")
_DAODI = re.compile(r"到底|究竟")
_CAPS_WORD = re.compile(r"\b[A-Z]{2,}\b")
# Laughter and praise: "哈哈 服了", "SO HAPPY WITH IT", "太棒了！！！" are not anger, unless the lexicon says so.
_LAUGH = re.compile(r"哈哈|笑死|233|😂|🤣|\blol\b|\blmao\b|\bhaha")
_PRAISE = re.compile(
    r"(?<!不)满意|好评|谢谢|感谢|喜欢|棒|赞|完美|漂亮|\bhappy\b|\blove\b|\bthanks?\b|\bthank you\b|\bgreat\b|"
    r"\bawesome\b|\bamazing\b|\bperfect\b"
)

COMPLAINT_THRESHOLD = 0.8


def _complaint(raw: str, t: str, compact: str) -> HandoffAsk | None:
    total = 0.0
    cues: list[str] = []
    hard = 0.0
    blocked = _NEG_COMPLAINT.search(compact) or _NEG_COMPLAINT.search(t)
    for text, rx in ((compact, _LEX_RE), (t, _LEX_EN_RE)):
        for m in rx.finditer(text):
            if blocked and m.group() in ("投诉", "complaint", "complain"):
                continue
            hard += _LEX_WEIGHT[m.lastgroup or ""]
            cues.append(m.group().strip())
    total += min(hard, 2.0)
    soft = bool(_SOFT_NEG.search(t)) or bool(_DAODI.search(compact) and _QUES_RUN.search(t))
    wait = _WAIT.search(compact) or _WAIT.search(t)
    if wait:
        total += 0.5
        cues.append(wait.group())
    # Shouting: most letters capitals, several capital words ("WHERE IS MY ORDER", not "DHL or UPS?").
    letters = [c for c in raw if c.isascii() and c.isalpha()]
    caps = len(letters) >= 10 and sum(c.isupper() for c in letters) / len(letters) >= 0.8
    caps = caps and len(_CAPS_WORD.findall(raw)) >= 3
    if caps:
        total += 0.7
        cues.append("CAPS")
    if total == 0.0 and not soft:
        return None
    # Amplifiers only count once the message carries something negative.
    amp = 0.0
    if _EXCL_RUN.search(t):
        amp += 0.35
        cues.append("!!")
    elif "!" in t and hard:
        amp += 0.1
    ques = _QUES_RUN.search(t)
    if ques:
        amp += 0.35 if len(ques.group()) >= 3 else 0.25
        cues.append("??")
    if _DAODI.search(compact):
        # 到底 ...？？ is exasperation, not a question: "到底什么时候发货？？？"
        amp += 0.6 if _QUES_RUN.search(t) else 0.3
        cues.append("到底")
    n_int = len(_INTENS.findall(t))
    amp += min(n_int, 2) * 0.1
    if _ACCUSE.search(t) and (hard or soft):
        amp += 0.25
        cues.append("你们")
    if soft:
        amp += 0.15
    total += amp
    if _LAUGH.search(t):
        total -= 0.5
    if hard == 0.0 and _PRAISE.search(t):
        return None
    if total < COMPLAINT_THRESHOLD or (hard == 0.0 and not wait and not caps and amp < 0.9):
        return None
    score = round(1.0 - math.exp(-1.5 * total), 3)
    return HandoffAsk("complaint", score, " ".join(dict.fromkeys(cues))[:80])


def handoff_ask(text: str) -> HandoffAsk | None:
    """Whether `text` asks for a human agent, why and how sure; None for an ordinary message. Never raises:
    it sits on the hot path of every turn."""
    try:
        if not isinstance(text, str) or not text:
            return None
        raw = text[:_MAX_CHARS]
        t = normalise(raw)
        if not t:
            return None
        # Chinese cues are matched with spaces dropped (转 人 工); English ones on the spaced form.
        compact = re.sub(r"\s+", "", t)
        return _request(t, compact) or _complaint(raw, t, compact)
    except Exception:  # a classifier bug must not break a conversation turn
        return None


_CLAUSES = re.compile(r"[,.;:!?，。；：！？、~…]+")
_HAN_RE = re.compile(f"[{_HAN}]")


def _declines_a_person(clause: str) -> bool:
    """The clause names a person only to say no to one: 不用转人工, "no need for a human"."""
    t = normalise(clause)
    compact = re.sub(r"\s+", "", t)
    found = [(text, m) for text, rx in ((compact, _REQ_RE), (t, _REQ_EN_RE)) for m in rx.finditer(text)]
    return bool(found) and all(_negated(text, m.start(), m.group()) for text, m in found)


def without_declined_request(text: str) -> str:
    """The question with the clauses that decline a person left out, for the knowledge search: "不用转人工，我就问
    下运费" asks about shipping fees, and the words 转人工 would pull the how-to-reach-an-agent entry first."""
    try:
        # a Chinese message's spaces part clauses too ("不要人工 退款多久到账"); an English one's are words
        parts = _CLAUSES.split(text[:_MAX_CHARS])
        clauses = [c for p in parts for c in (p.split() if _HAN_RE.search(p) else [p.strip()]) if c]
        kept = [c for c in clauses if not _declines_a_person(c)]
        return " ".join(kept) if kept and len(kept) < len(clauses) else text
    except Exception:  # never in the way of a turn
        return text
