"""What the rules read: a message in canonical form and the views built from it.

`canonical` is the guard's own normal form for attack detection (NFKC, invisible characters removed, Cyrillic and
Greek look-alikes mapped to Latin, the traditional characters the rules use mapped to simplified, lower case). It is
stronger than `kefu.text.normalise`, which compares wordings, and named differently so the two are never confused.

From it: a Chinese view (only letters, digits and Han characters, homophone typos fixed: "忽 略.指~令" reads
"忽略指令"), an English view (spelled-out letters joined, leetspeak inside words undone), a full-leetspeak view, a
pinyin view, reversed and rot13 views, and the decoded text of any base64 / hex / URL-encoded / escaped span.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass

from kefu.text import has_han

MAX_CHARS = 4000  # longer messages: the first 3000 and the last 1000 characters are checked

_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
        "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
        "ɡ": "g", "һ": "h", "ӏ": "l",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "ω": "w",
        # letter-like symbols NFKC leaves alone
        "ı": "i", "ℓ": "l", "ß": "ss",
    }
)  # fmt: skip
# Traditional -> simplified, only for the characters the rules use (a full table is not needed for matching).
_TRAD = str.maketrans(
    "規則設們價經詞說開發內當從現統務將為應該讓給錢費賠償員闆權僅換貨輸態無視對話麼這個條會還歸樣請複製並覆"
    "場單戶號碼碼帳賬級權限導師劃劇戲遊係紀錄顯傳訊過濾審測試舊新聽繫網頁樂禮於後臺門們鎖體驗證據啟動轉變灣"
    "隱藏護顧戀愛騙錯誤選擇標記額優惠處罰認證書寫讀啟關閉",
    "规则设们价经词说开发内当从现统务将为应该让给钱费赔偿员板权仅换货输态无视对话么这个条会还归样请复制并覆"
    "场单户号码码帐账级权限导师划剧戏游系纪录显传讯过滤审测试旧新听系网页乐礼于后台门们锁体验证据启动转变湾"
    "隐藏护顾恋爱骗错误选择标记额优惠处罚认证书写读启关闭",
)
_ZH_TYPOS = [
    ("乎略", "忽略"), ("胡略", "忽略"), ("呼略", "忽略"), ("忽律", "忽略"), ("忽掠", "忽略"), ("ㄏㄨ略", "忽略"),
    ("ㄓ前", "之前"), ("指领", "指令"), ("指今", "指令"), ("旨令", "指令"), ("纸令", "指令"), ("规责", "规则"),
    ("提示次", "提示词"), ("题示词", "提示词"), ("提示辞", "提示词"), ("提是词", "提示词"), ("设订", "设定"),
    ("无示", "无视"),
]  # fmt: skip
_ZH_TYPO_RE = re.compile("|".join(re.escape(a) for a, _ in _ZH_TYPOS))
_ZH_TYPO_MAP = dict(_ZH_TYPOS)
_PINYIN = {
    "hulue": "忽略", "hulve": "忽略", "wushi": "无视", "wangji": "忘记", "wangdiao": "忘掉", "zhiqian": "之前",
    "yiqian": "以前", "yishang": "以上", "suoyou": "所有", "quanbu": "全部", "zhiling": "指令", "guize": "规则",
    "sheding": "设定", "shezhi": "设置", "tishici": "提示词", "tishi": "提示", "xitong": "系统", "shuchu": "输出",
    "gaosuwo": "告诉我", "gaosu": "告诉", "jiage": "价格", "gaicheng": "改成", "gaiwei": "改为", "mianfei": "免费",
    "miandan": "免单", "yiyuan": "一元", "xianzai": "现在", "nishi": "你是", "nide": "你的", "banyan": "扮演",
    "jiazhuang": "假装", "juese": "角色", "tuikuan": "退款", "peichang": "赔偿", "jingli": "经理", "laoban": "老板",
    "tongyi": "同意", "xianzhi": "限制", "yuanyang": "原样", "yuanwen": "原文", "yuan": "元",
}  # fmt: skip
_PINYIN_RE = re.compile("|".join(sorted(_PINYIN, key=len, reverse=True)))
_NON_WORD = re.compile(r"[\W_]+")
_LATIN = re.compile(r"[a-z]")
_INTRA_SEP = re.compile(r"(?<=[a-z])[.\-_*·~|/](?=[a-z])")
_SPELLED = re.compile(r"(?<![a-z0-9])[a-z0-9](?:[ ]{1,2}[a-z0-9](?![a-z0-9])){1,}")
_LEET_MAP = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
_LEET = re.compile(r"(?<=[a-z])[013457@$]|[013457@$](?=[a-z])")
_TOKEN = re.compile(r"[a-z0-9@$]+")
_MIXED = re.compile(r"(?=[a-z0-9]*[a-z])(?=[a-z0-9]*[013457])[a-z0-9]{2,}")
_LEET_DIGITS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})
_SPACES = re.compile(r"\s+")


def canonical(text: str) -> str:
    """NFKC, invisible characters removed, look-alike letters and traditional characters mapped, lower case:
    the base every view is built from."""
    t = unicodedata.normalize("NFKC", text)
    t = _INVISIBLE.sub("", t).lower().translate(_HOMOGLYPHS).translate(_TRAD)
    return t


def _zh_view(norm: str) -> str:
    """Only letters, digits and CJK characters, homophone typos fixed: the view of the Chinese rules."""
    s = _NON_WORD.sub("", norm)
    return _ZH_TYPO_RE.sub(lambda m: _ZH_TYPO_MAP[m.group()], s) if s else s


def _soft_leet(m: re.Match[str]) -> str:
    """Leetspeak undone inside a word of at least two letters ("1gn0re", "rul35"); "100x" or "a12345" stay."""
    tok = m.group()
    if sum(1 for c in tok if "a" <= c <= "z") < 2 or not _LEET.search(tok):
        return tok
    for _ in range(2):
        tok = _LEET.sub(lambda x: _LEET_MAP[x.group()], tok)
    return tok


def _hard_leet(m: re.Match[str]) -> str:
    """Every leet digit of a word mapped ("570r3" -> "store", "70" -> "to"): for messages written in leetspeak."""
    tok = m.group()
    if any("a" <= c <= "z" for c in tok) or (2 <= len(tok) <= 3 and all(c in "013457" for c in tok)):
        return tok.translate(_LEET_DIGITS)
    return tok


def _en_view(norm: str) -> str:
    """Spelled-out and separated letters joined, leetspeak inside words undone, spaces collapsed."""
    t = _INTRA_SEP.sub("", norm)
    t = _SPELLED.sub(lambda m: re.sub(r" ", "", m.group()), t)
    t = _TOKEN.sub(_soft_leet, t)
    return _SPACES.sub(" ", t).strip()


def _leet_view(en: str) -> str | None:
    """The English view with all leetspeak undone, when the message has two or more letter-digit words."""
    if len(_MIXED.findall(en)) < 2:
        return None
    return _TOKEN.sub(_hard_leet, en)


def _pinyin_view(zh: str) -> str | None:
    """Pinyin keywords turned into characters ("hulue zhiling" -> "忽略指令"); None when there are none."""
    if len(set(_PINYIN_RE.findall(zh))) < 2:
        return None
    return _PINYIN_RE.sub(lambda m: _PINYIN[m.group()], zh)


# ------------------------------------------------------------------------------------------------ decoding

_B64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}[\s:]?){8,}")
_XESC = re.compile(r"(?:\\x[0-9a-fA-F]{2}){4,}")
_UESC = re.compile(r"(?:\\u[0-9a-fA-F]{4}){2,}")
_PCT = re.compile(r"%[0-9a-fA-F]{2}")
_PCT_RUN = re.compile(r"(?:%[0-9a-fA-F]{2})+")


def _printable(s: str) -> bool:
    """Decoded bytes that read as text (letters, CJK, punctuation), not binary noise."""
    if len(s) < 4:
        return False
    good = sum(1 for c in s if c.isprintable() or c in "\n\t")
    letters = sum(1 for c in s if c.isalpha())
    return good / len(s) > 0.95 and letters / len(s) > 0.4


def _decoded(text: str) -> tuple[list[str], str]:
    """Texts hidden in `text` by an encoding (base64, hex, \\x / \\u escapes, URL-encoding, HTML entities), and
    `text` with the encoded spans blanked out (the plain views need not scan them)."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _B64.finditer(text):
        s = m.group()
        if s.isalpha() and (s.islower() or s.isupper()):  # a plain long word, not base64
            continue
        raw = s.rstrip("=").replace("-", "+").replace("_", "/")
        try:
            d = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if _printable(d):
            out.append(d)
            spans.append(m.span())
    for m in _HEX.finditer(text):
        try:
            d = bytes.fromhex(re.sub(r"[\s:]", "", m.group())).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if _printable(d):
            out.append(d)
            spans.append(m.span())
    if "\\x" in text:
        for m in _XESC.finditer(text):
            try:
                d = bytes.fromhex(m.group().replace("\\x", "")).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                continue
            out.append(d)
            spans.append(m.span())
    if "\\u" in text:
        for m in _UESC.finditer(text):
            out.append("".join(chr(int(h, 16)) for h in re.findall(r"\\u([0-9a-fA-F]{4})", m.group())))
            spans.append(m.span())
    if "%" in text and len(_PCT.findall(text)) >= 3:
        out.append(urllib.parse.unquote(text))
        spans.extend(m.span() for m in _PCT_RUN.finditer(text))
    if "&#" in text:
        out.append(html.unescape(text))
    if spans:
        chars = list(text)
        for a, b in spans:
            chars[a:b] = [" "] * (b - a)
        text = "".join(chars)
    return [d for d in out if d.strip()], text


# -------------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class View:
    scope: str  # "zh", "en", "raw"
    text: str
    obfuscated: str | None  # how the view was obtained when it undid an encoding ("base64", "reversed", ...)


def views(text: str) -> list[View]:
    """Every view the rules look at: the plain views, then pinyin, reversed, rot13 and decoded ones. Chinese views
    only for text with CJK characters (or pinyin), English views only for text with Latin letters."""
    if len(text) > MAX_CHARS:
        text = text[:3000] + "\n" + text[-1000:]
    decoded, text = _decoded(text)
    norm = canonical(text)
    has_cjk = has_han(norm)
    has_latin = _LATIN.search(norm) is not None
    out = [View("raw", norm, None)]
    if has_cjk:
        zh = _zh_view(norm)
        out += [View("zh", zh, None), View("zh", zh[::-1], "reversed")]
    if has_latin:
        en = _en_view(norm)
        out += [View("en", en, None), View("en", en[::-1], "reversed")]
        if sum(1 for c in en if "a" <= c <= "z") >= 8:
            out.append(View("en", codecs.encode(en, "rot13"), "rot13"))
        leet = _leet_view(en)
        if leet is not None:
            out.append(View("en", leet, None))
        py = _pinyin_view(_zh_view(norm))
        if py is not None:
            out.append(View("zh", py, None))
    for d in decoded:
        n = canonical(d)
        out += [View("zh", _zh_view(n), "decoded"), View("en", _en_view(n), "decoded"), View("raw", n, "decoded")]
    return out
