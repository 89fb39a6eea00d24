"""Names in context: after 我叫 / 收件人 / 联系人 / 姓名 ..., before 先生 / 女士 / 经理 / 总, next to another piece of
personal data ("张三 13812341234"), "请问王芳的订单…"; English names after "I'm", "my name is", "Mr." ...."""

from __future__ import annotations

import re

from kefu.guard.pii.data import (
    EN_HINTS,
    EN_NOT_NAME,
    GIVEN_STOP,
    NAME_TRIGGER_SPEC,
    NOT_NAMES,
    PLACES,
    SURNAMES_1,
    SURNAMES_2,
    WEAK_TRIGGERS,
)
from kefu.guard.pii.regex import han_class, trie, words

_G = han_class(GIVEN_STOP)
_SURNAME = "(?:" + "|".join(SURNAMES_2) + f"|[{SURNAMES_1}])"
_CN_NAME = rf"{_SURNAME}{_G}{{1,2}}"
_NAME_TRIGGERS = words(NAME_TRIGGER_SPEC)
_NAME_TRIGGER = re.compile(
    rf"(?P<trig>{trie(_NAME_TRIGGERS)})"
    r"(?:\s*(?:[:：]|是|为|叫|改成|改为|写的是?|填的是?|写成))?\s*"
    rf"(?P<name>{_CN_NAME})"
)
# "…电话138… 人张三", "名：李四" in pasted shipping details; "请问王芳的订单到哪了".
_SHORT_LABEL_NAME = re.compile(
    rf"(?:^|[\s,，;；/|])(?:人|名)[:：]?\s*(?P<name>{_CN_NAME})(?=$|[\s,，.。;；、/|!！?？])"
)
_OWNER_NAME = re.compile(
    rf"(?:^|[\s,，.。;；!！?？]|请问|帮我查一?下|查一?下|看一?下)(?P<name>{_CN_NAME}?)的(?:订单|快递|包裹|退款|货|件|单子|账号|会员)"
)
_OWNED = re.compile("的(?:订单|快递|包裹|退款|货|件|单子|账号|会员)")
# What may follow a name after a weak trigger: a clause end, or words that make it a person ("帮王芳查下物流",
# "我是王芳的家属").
_WEAK_END = re.compile(
    r"(?:[\s,，.。!！?？;；、)）/]|$|就|吧|收|打|帮|在|负责|代|查|问|看|退|买|取|签|"
    r"的(?:订单|家属|家人|朋友|同事|老公|老婆|爱人|妈妈|爸爸|孩子|助理|秘书|快递|包裹))"
)
_TITLE = re.compile(
    rf"(?P<name>{_SURNAME}{_G}{{0,2}}?)(?:先生|女士|小姐|老师|经理|总(?!部|共|计|额|价|裁|结|之|数|量|体|算|统|线|台|店|站|包|监|的))"
)
_TITLE_HINT = re.compile("先生|女士|小姐|老师|经理|总")
_LEFT_NAME = re.compile(rf"(?:^|[\s,，:：;；、/|(（])(?P<name>{_CN_NAME})[\s,，:：;；、/|()（）]*$")
_RIGHT_NAME = re.compile(rf"[\s,，:：;；、/|()（）]*(?P<name>{_CN_NAME})(?=$|[\s,，.。:：;；、/|()（）!！?？]|收)")

_EN_NAME_WORD = r"[A-Z][A-Za-zÀ-ÖØ-öø-ÿ'’-]+"
_EN_NAME = re.compile(
    r"(?:\b(?i:my\s+name\s+is|my\s+name's|name\s*[:：]?|i\s+am|i'm|i’m|im|this\s+is|recipient\s*[:：]?|contact\s*[:：]"
    r"|attn\.?\s*[:：]?|signed,?|regards,?)\s+|\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+)"
    rf"(?P<name>{_EN_NAME_WORD}(?:\s+{_EN_NAME_WORD}){{0,2}})"
)
_CN_TRIGGER_EN_NAME = re.compile(
    r"(?:我叫|名字(?:是|叫)?|姓名|(?:收件|收货|联系|寄件|取件|签收|持卡)人|开户名|户名)[\s:：是为]*"
    rf"(?P<name>{_EN_NAME_WORD}(?:\s+{_EN_NAME_WORD}){{0,2}})"
)
# Cheap gates: English names are looked for only in text with a capital letter and one of these words.
_EN_UPPER = re.compile("[A-Z]")
_EN_HERE = re.compile(rf"(?:^|[,.]\s*)(?P<name>{_EN_NAME_WORD}(?:\s+{_EN_NAME_WORD})?)\s+here\b")
_NAME_HINT = re.compile(
    r"叫|名|收件|收货|联系|寄件|发件|取件|签收|提货|持卡|户名|本人|车主|客户|是|找|给|转告|先生|女士|小姐|朋友|老公|老婆|爸爸|妈妈|同事"
    r"|人|的|帮|替|写的|填的|顾客|买家|会员|老师|经理|总|[Nn]ame|I'm|I’m|[Ii] am|\bim\b|[Tt]his "
    r"is|[Rr]ecipient|[Cc]ontact|[Aa]ttn|[Ss]igned|[Rr]egards|Mrs?\b|Ms\b|Miss|Dr\b|here\b"
)


def _cn_name_ok(name: str) -> bool:
    """False for common words and place names that begin with a surname character (方便, 江苏, 周末 ...)."""
    return name[:2] not in NOT_NAMES and name not in NOT_NAMES and name not in PLACES and name[:2] not in PLACES


def find_names(t: str, out: list[tuple[int, int, str]]) -> None:
    if not _NAME_HINT.search(t):
        return
    for m in _NAME_TRIGGER.finditer(t):
        a, b = m.span("name")
        weak = m.group("trig") in WEAK_TRIGGERS
        # A weak trigger needs a clean end after the name ("我是王芳，..."), and a 3-character name that fails
        # it may still end after two characters ("联系王芳就行").
        if weak and not _WEAK_END.match(t, b):
            if b - a == 3 and _WEAK_END.match(t, b - 1):
                b -= 1
            else:
                continue
        if not weak or _cn_name_ok(t[a:b]):
            out.append((a, b, "name"))
    if "人" in t or "名" in t:
        for m in _SHORT_LABEL_NAME.finditer(t):
            if _cn_name_ok(m.group("name")):
                out.append((*m.span("name"), "name"))
    if _OWNED.search(t):
        for m in _OWNER_NAME.finditer(t):
            if _cn_name_ok(m.group("name")):
                out.append((*m.span("name"), "name"))
    if _TITLE_HINT.search(t):
        for m in _TITLE.finditer(t):
            a, b = m.span("name")
            if t[a:b] not in NOT_NAMES:
                out.append((a, b, "name"))
    if not _EN_UPPER.search(t):
        return
    if "人" in t or "名" in t or "叫" in t:
        for m in _CN_TRIGGER_EN_NAME.finditer(t):
            out.append((*m.span("name"), "name"))
    tl = t.lower()
    if not any(w in tl for w in EN_HINTS):
        return
    for m in _EN_NAME.finditer(t):
        words = m.group("name").split()
        while words and words[-1] in EN_NOT_NAME:
            words.pop()
        if not words or words[0] in EN_NOT_NAME or words[0].endswith("ing"):
            continue
        a = m.start("name")
        out.append((a, a + len(" ".join(words)) if len(words) > 1 else a + len(words[0]), "name"))
    for m in _EN_HERE.finditer(t):
        if m.group("name").split()[0] not in EN_NOT_NAME:
            out.append((*m.span("name"), "name"))


def find_neighbour_names(t: str, spans: list[tuple[int, int, str]], out: list[tuple[int, int, str]]) -> None:
    """A bare name pasted next to other personal data: "张三 13812341234", "李娜，138...，北京市..."."""
    for s, e, k in spans:
        if k == "name":
            continue
        m = _LEFT_NAME.search(t, max(0, s - 8), s)
        if m and _cn_name_ok(m.group("name")):
            out.append((*m.span("name"), "name"))
        m = _RIGHT_NAME.match(t, e, min(len(t), e + 8))
        if m and _cn_name_ok(m.group("name")):
            out.append((*m.span("name"), "name"))
