"""PII detection and masking for customer messages (PRODUCT.md F10).

Every customer message passes through `mask` before it reaches the engine, the database or a log line, so
this runs on the serving path: hand-written recognisers (regular expressions plus validation: ID checksums
and birth dates, Luhn, area codes, context words) instead of an NLP model, at tens of microseconds a
message. The choice against presidio-analyzer is measured in docs/guard.md.

What the recognisers look for, and the look-alikes they leave alone:
- numbers (one scan for runs of digits with spaces or dashes, then classified): mainland ID numbers (18
  digits with the checksum, or 15; an ID-shaped number with a valid region code and birth date but a failing
  checksum is still an ID: a mistyped ID is still personal data), mobiles (+86, 0086, spaces, dashes),
  landlines (area code + number), bank cards (16-19 digits, issuer prefix + Luhn). A number directly after
  订单号 / 快递单号 / 运单号 / SKU / 发票 ... is a look-alike, as are 400/800 service lines, prices and dates.
- e-mail addresses; passports (E/G + 8 digits unconditionally; other formats after 护照 / passport);
  licence plates (京A12345, new-energy 8-character plates).
- addresses: runs of administrative units, roads, numbers, compounds and rooms (省 市 区 路 号 小区 栋 单元 室),
  accepted only when street-level (a road with a number, a compound with a building ...); English street
  addresses.
- names in context: after 我叫 / 收件人 / 联系人 / 姓名 ..., before 先生 / 女士 / 经理 / 总, next to another piece
  of PII ("张三 13812341234"), and English names after "I'm", "my name is", "Mr." ....
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

KINDS = ("id", "mobile", "phone", "card", "email", "name", "addr", "passport", "plate")

PLACEHOLDERS: dict[str, str] = {
    "id": "[身份证号]",
    "mobile": "[手机号]",
    "phone": "[电话]",
    "card": "[银行卡号]",
    "email": "[邮箱]",
    "name": "[姓名]",
    "addr": "[地址]",
    "passport": "[护照号]",
    "plate": "[车牌号]",
}

# Which kind wins when two candidates overlap (lower wins).
_PRIORITY = {"email": 0, "id": 1, "card": 2, "mobile": 3, "phone": 4, "passport": 5, "plate": 6, "addr": 7, "name": 8}


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    kind: str
    text: str


@dataclass
class Masked:
    text: str
    spans: list[PiiSpan]


# Full-width ASCII (０-９, Ａ-Ｚ, ＠, （ ...) and the ideographic space map one to one onto ASCII, so offsets in
# the normalised text are offsets in the original.
# Chinese punctuation (，：！) is full-width too and stays as it is: the patterns know both forms.
_FULLWIDTH_CHARS = "（）＋－．＠" + "".join(
    chr(c) for c in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
)
_NORMALISE = {ord(c): ord(c) - 0xFEE0 for c in _FULLWIDTH_CHARS} | {0x3000: 0x20}
_FULLWIDTH = re.compile(f"[{_FULLWIDTH_CHARS}\u3000]")


def _trie(words: list[str]) -> str:
    """An alternation of `words` factored by common prefix (longest first), so that the regex engine tries one
    branch per first character instead of one per word."""
    root: dict = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def walk(node: dict) -> str:
        alts = [re.escape(ch) + walk(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        if "" in node:
            return "(?:" + "|".join(alts) + ")?"
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return walk(root)


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------
# Led by a character class so that the engine skips ahead to the next digit; the "not glued to a letter or
# digit before" condition is checked in Python (SF1234567890123 is a tracking number, not a phone).
_NUM = re.compile(r"\+?\d(?:[ \-]{0,2}\d)*(?:[Xx](?![0-9A-Za-z]))?")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_GROUP = re.compile(r"\d+[Xx]?")

_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _valid_date(y: int, m: int, d: int) -> bool:
    return 1900 <= y <= 2099 and 1 <= m <= 12 and 1 <= d <= calendar.monthrange(y, m)[1]


def _id18(ds: str) -> int:
    """2: a valid ID number; 1: ID-shaped (region and birth date valid) with a failing checksum; 0: not."""
    if len(ds) != 18 or not ds[:17].isdigit() or ds[:2] not in _PROVINCES:
        return 0
    if not (ds[6:8] in ("19", "20") and _valid_date(int(ds[6:10]), int(ds[10:12]), int(ds[12:14]))):
        return 0
    check = _ID_CHECK[sum(int(c) * w for c, w in zip(ds, _ID_WEIGHTS, strict=False)) % 11]
    return 2 if ds[17].upper() == check else 1


def _id15(ds: str) -> bool:
    return (
        len(ds) == 15
        and ds.isdigit()
        and ds[:2] in _PROVINCES
        and _valid_date(1900 + int(ds[6:8]), int(ds[8:10]), int(ds[10:12]))
    )


def _luhn(ds: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(ds)):
        d = ord(c) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_prefix(ds: str) -> bool:
    """Issuer prefixes of cards used in China: UnionPay 62/60/65/9558, Visa 4, Mastercard 51-55, JCB 35,
    Diners 30/36/38. Date-stamped order numbers (20xx...) fall outside."""
    a = ds[0]
    return a in "46" or (a == "5" and ds[1] in "12345") or (a == "3" and ds[1] in "0568") or ds.startswith("95")


def _mobile(ds: str) -> bool:
    return len(ds) == 11 and ds[0] == "1" and ds[1] in "3456789"


def _landline(ds: str) -> bool:
    if len(ds) < 10 or ds[0] != "0" or ds[1] == "0":
        return False
    area = 3 if ds[1] in "12" else 4
    local = ds[area:]
    return local[:1] in "23456789" and local != "" and (len(local) == 8 or (area == 4 and len(local) == 7))


def _classify(ds: str) -> tuple[str, int] | None:
    """The kind of a run of digits (separators removed) and how sure: 2 validated, 1 shape only."""
    n = len(ds)
    if ds[-1] in "Xx":
        s = _id18(ds)
        return ("id", s) if s else None
    if (n == 13 and ds.startswith("86") and _mobile(ds[2:])) or (n == 15 and ds.startswith("0086") and _mobile(ds[4:])):
        return "mobile", 2
    if _mobile(ds):
        return "mobile", 2
    if n == 18:
        s = _id18(ds)
        if s == 2:
            return "id", 2
        if _card_prefix(ds) and _luhn(ds):
            return "card", 2
        if s == 1:
            return "id", 1
        return None
    if n == 15 and _id15(ds):
        return "id", 2
    if 16 <= n <= 19 and _card_prefix(ds) and _luhn(ds):
        return "card", 2
    if _landline(ds):
        return "phone", 2
    if ds.startswith("86") and 11 <= n <= 12 and _landline("0" + ds[2:]):
        return "phone", 2
    return None


def _rescue(ds: str, ctx: str | None) -> str | None:
    """A number that only its label makes personal: 卡号 + a card failing Luhn, 座机 + a local number ..."""
    n = len(ds)
    if ctx == "card" and 15 <= n <= 19 and ds.isdigit():
        return "card"
    if ctx == "id" and n in (15, 18):
        return "id"
    if ctx in ("phone", "mobile") and 7 <= n <= 8 and ds[0] in "23456789":
        return "phone"
    if ctx == "mobile" and n == 11 and ds[0] == "1":
        return "mobile"
    if ctx == "passport" and 7 <= n <= 9:
        return "passport"
    return None


# Labels. A number right after a look-alike label (订单号 2024...) is not PII; a label of a PII kind lets a
# number through that fails its check (卡号 + a mistyped card).
def _words(spec: str) -> list[str]:
    """Expand "订单|退货 + |号|单号" (stems + suffixes, one group per line) and plain words into a word list."""
    out: list[str] = []
    for line in spec.strip().splitlines():
        if "+" in line:
            stems, suffixes = line.split("+")
            out += [a + b for a in stems.strip().split("|") for b in suffixes.strip().split("|")]
        else:
            out += line.split()
    return out


_LABEL_WORDS: dict[str, str] = {}
for _kind, _spec in (
    (
        "neg",
        """
        订单|子订单|退货|退款|售后|快递|物流|运单|包裹|取件|工单|投诉|交易|流水|支付|商户 + |单号|编号|号码|号|编码|id
        商品|发票|批次|会员|保修卡 + |号|编号|编码|码|id|号码|代码|卡号
        单号 税号 信用代码 货号 款号 型号 条码 条形码 序列号 sku spu imei sn 券 券码 优惠码 兑换码 激活码
        验证码 邀请码 积分 邮编
        尾号 后四位 后六位 工号
        tracking|order + | number| no| no.| #| id
        invoice coupon serial ref
    """,
    ),
    (
        "id",
        """
        身份证|身分证|证件|身份正 + |号|号码|编号
        实名
        id + | card| number| no| no.
    """,
    ),
    (
        "card",
        """
        |银行|信用|储蓄|借记|工资|退款 + 卡|卡号|卡号码
        账号 帐号 account
        card + | number| no| no.
    """,
    ),
    ("phone", "座机 固话 固定电话 办公电话 单位电话 公司电话 office landline 分机 office line"),
    (
        "mobile",
        """
        手机|电话|手几 + |号|号码
        电活 联系方式 号码 微信 vx tel mobile call phone phone number
    """,
    ),
    (
        "passport",
        """
        护照|通行证 + |号|号码
        回乡证
        passport + | number| no| no.| #
    """,
    ),
):
    _LABEL_WORDS.update(dict.fromkeys(_words(_spec), _kind))
# One prefix-factored alternation: the engine tries one branch per first character instead of one per word.
_LABEL = re.compile(r"(?<![a-z])" + _trie(list(_LABEL_WORDS)))
_HARD_STOP = re.compile(r"[，。；！？,;!?\n]")
# What may stand between a look-alike label and its number ("订单号：", "单号是 ", "order no. #").
_FILLER = re.compile(r"[\s:：#=\-.是为的]*(?:(?:号码|号|编号|number|no\.?|is|id)[\s:：#=\-.是为]*)?")
_NEG_AFTER = re.compile(r"\s*(?:这个|这|那个|的)?\s*(?:订单|单号|运单|快递单|单子|这单|物流|包裹)")


def _label_before(t: str, start: int) -> tuple[str | None, bool]:
    """The label nearest before `start` in the same clause: (its class, whether only filler separates)."""
    window = t[max(0, start - 16) : start]
    stop = _HARD_STOP.search(window[::-1])
    if stop is not None:
        window = window[len(window) - stop.start() :]
    window = window.lower()
    last = None
    for found in _LABEL.finditer(window):
        last = found
    if last is None:
        return None, False
    gap = window[last.end() :]
    if len(gap) > 10 or any(c.isdigit() for c in gap):
        return None, False
    return _LABEL_WORDS[last.group()], _FILLER.fullmatch(gap) is not None


_PAREN_PHONE = re.compile(r"\(\s?0\d{2,3}\s?\)[ \-]?\d{3,4}[ \-]?\d{3,4}(?![0-9A-Za-z])")


def _numbers(t: str, out: list[tuple[int, int, str]]) -> None:
    if "(" in t:
        for m in _PAREN_PHONE.finditer(t):
            if _landline("".join(c for c in m.group() if c.isdigit())):
                out.append((m.start(), m.end(), "phone"))
    for m in _NUM.finditer(t):
        if m.end() - m.start() < 7 or (m.start() > 0 and t[m.start() - 1] in _ALNUM):
            continue  # fewer than 7 digits (a quantity, a price, a room, a date), or part of a code
        run = m.group()
        if run.isdigit() or run[:-1].isdigit():
            _number(t, [m.span()], 0, 0, out)
            continue
        groups = [(g.start() + m.start(), g.end() + m.start()) for g in _GROUP.finditer(run)]
        if len(groups) > 1:
            label, tight = _label_before(t, m.start())
            if label == "neg" and tight:
                continue  # "订单号 2024 0518 ...": the whole run is the look-alike
        if len(groups) == 1:
            _number(t, groups, 0, 0, out)
            continue
        # Several numbers written next to each other ("13812341234 2024..."): the longest classifiable
        # sub-runs, left to right.
        sizes = [b - a for a, b in groups]
        i, n = 0, len(groups)
        while i < n:
            # the longest run of groups from i with at most 19 digits, then shorter ones
            j, total = i, 0
            while j < n and total + sizes[j] <= 19:
                total += sizes[j]
                j += 1
            j -= 1
            while j >= i:
                if total >= 7 and _number(t, groups, i, j, out):
                    break
                total -= sizes[j]
                j -= 1
            i = j + 1 if j >= i else i + 1


def _number(t: str, groups: list[tuple[int, int]], i: int, j: int, out: list[tuple[int, int, str]]) -> bool:
    start, end = groups[i][0], groups[j][1]
    if j < len(groups) - 1 and t[groups[j][1] - 1] in "Xx":
        return False
    ds = "".join(t[a:b] for a, b in groups[i : j + 1])
    if len(ds) < 7 or len(ds) > 19:
        return False
    if start > 0 and t[start - 1] == "+" and i == 0:
        start -= 1
    got = _classify(ds)
    n = len(ds)
    if got is None and not (7 <= n <= 9 or n == 11 or n >= 15):
        return False  # nothing a label could make personal
    label, tight = _label_before(t, start)
    if label == "neg" and tight:
        return got is not None  # consumed: a look-alike, not PII
    if got is not None and _NEG_AFTER.match(t, end):
        return True
    kind = got[0] if got is not None else _rescue(ds, label)
    if kind is None:
        return False
    out.append((start, end, kind))
    return True


# --------------------------------------------------------------------------------------------
# E-mail, passports, plates
# --------------------------------------------------------------------------------------------
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:[.。][A-Za-z0-9-]+)*[.。][A-Za-z]{2,}"
)
_PASSPORT = re.compile(r"(?<![A-Za-z0-9])(?:[Ee][A-HJ-NP-Za-hj-np-z]?\d{7,8}|[Gg]\d{8})(?![A-Za-z0-9])")
_PASSPORT_CTX = re.compile(
    r"(?:护照|passport|通行证|回乡证|travel\s+document)"
    r"(?:\s*(?:号码|号|no\.?|number|num|#|是|为|:|：|is|：))*\s*([A-Za-z0-9][A-Za-z0-9-]{5,11})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领][A-HJ-NP-Za-hj-np-z][·•.\- ]?"
    r"(?:[DFdf][A-HJ-NP-Za-hj-np-z0-9]\d{4}|\d{5}[DFdf]|[A-HJ-NP-Za-hj-np-z0-9]{4}[A-HJ-NP-Za-hj-np-z0-9挂学警港澳])"
    r"(?![A-Za-z0-9])"
)


def _passports(t: str, out: list[tuple[int, int, str]]) -> None:
    for m in _PASSPORT.finditer(t):
        label, tight = _label_before(t, m.start())
        if not (label == "neg" and tight):
            out.append((m.start(), m.end(), "passport"))
    if "护" in t or "通行证" in t or "回乡证" in t or "assport" in t or "ravel" in t:
        for m in _PASSPORT_CTX.finditer(t):
            tok = m.group(1)
            if sum(c.isdigit() for c in tok) >= 5:
                out.append((m.start(1), m.end(1), "passport"))


def _plates(t: str, out: list[tuple[int, int, str]]) -> None:
    for m in _PLATE.finditer(t):
        body = m.group()[2:].lstrip("·•.- ")
        if sum(c.isdigit() for c in body) >= 3:
            out.append((m.start(), m.end(), "plate"))


# --------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------
# Characters that never occur in a place name in a chat message (particles, verbs around addresses such as
# 寄到 / 送到 / 住在, pronouns, labels), and a wider set that may not begin one (地, 家, 发, 成 ...: 成华区 is found
# after 成都市, not on its own). Known cities and provinces are matched through their list.
_ADDR_STOP_STRONG = set(
    "在住到是寄送址往我你他她您它的了请帮改把给从吗呢吧啊呀哦嗯说收货电话手机号码邮箱这那个些哪么怎麻烦谢亲放递写填应该错对不没有"
    "附近时候先生女士小姐师傅老板客服用过下及或被让要想能会都也还就才又很太更最已刚噢喔哈嘿嗨好感恩"
)
_ADDR_STOP = _ADDR_STOP_STRONG | set("地家发为与成来回去件单订旧之次边每今昨早晚")


def _cjk_class(exclude: set[str]) -> str:
    """A regex character class of the CJK unified ideographs minus `exclude`."""
    out, start = [], 0x4E00
    for cp in sorted(ord(c) for c in exclude if 0x4E00 <= ord(c) <= 0x9FFF):
        if cp > start:
            out.append(f"\\u{start:04x}-\\u{cp - 1:04x}")
        start = cp + 1
    out.append(f"\\u{start:04x}-\\u9fff")
    return "[" + "".join(out) + "]"


# A place name starts with a character outside _ADDR_STOP and continues with characters outside the strong set.
_N1 = _cjk_class(_ADDR_STOP)
_NS = _cjk_class(_ADDR_STOP_STRONG)
_CITIES = (
    "北京 上海 天津 重庆 深圳 广州 杭州 南京 苏州 成都 武汉 西安 青岛 厦门 长沙 郑州 沈阳 哈尔滨 昆明 南宁 石家庄 "
    "合肥 济南 福州 "
    "南昌 太原 长春 贵阳 兰州 银川 西宁 拉萨 乌鲁木齐 呼和浩特 海口 三亚 大连 宁波 无锡 常州 佛山 东莞 珠海 中山 "
    "惠州 温州 绍兴 "
    "嘉兴 金华 台州 泉州 漳州 烟台 潍坊 临沂 徐州 南通 扬州 洛阳 襄阳 宜昌 岳阳 株洲 湘潭 衡阳 绵阳 南充 遵义 桂林 "
    "柳州 保定 唐山 "
    "邯郸 廊坊 秦皇岛 大同 包头 鞍山 吉林 大庆 齐齐哈尔 芜湖 蚌埠 赣州 九江 汕头 江门 湛江 肇庆 揭阳 丽水 周口 邵阳 "
    "梅州 阜阳 "
    "张家口 张家界 佳木斯 威海 日照 淄博 泰安 济宁 德州 聊城 滨州 菏泽 枣庄 盐城 淮安 连云港 宿迁 镇江 泰州 舟山 "
    "湖州 衢州 马鞍山 "
    "安庆 六安 亳州 宿州 淮南 黄山 上饶 宜春 吉安 抚州 景德镇 萍乡 新余 鹰潭 昆山 义乌 江阴 常熟 张家港 晋江 顺德"
).split()
_PROVINCE_NAMES = (
    "河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 "
    "台湾 "
    "内蒙古 内蒙古自治区 广西 广西壮族自治区 西藏 西藏自治区 宁夏 宁夏回族自治区 新疆 新疆维吾尔自治区 香港 "
    "香港特别行政区 "
    "澳门 澳门特别行政区"
).split()
# The last characters of a place word, and what kind of part they make: P province, C city, D district,
# T town or village, R road, B compound or building.
_SUFFIX_KIND = {
    **dict.fromkeys("省 自治区 特别行政区".split(), "P"),
    **dict.fromkeys("市 自治州 州 盟 地区".split(), "C"),
    **dict.fromkeys("新区 区 县 旗".split(), "D"),
    **dict.fromkeys("街道 镇 乡 村 开发区 工业园 园区".split(), "T"),
    **dict.fromkeys("大道 大街 路 街 巷 胡同 道".split(), "R"),
    **dict.fromkeys(
        "小区 花园 大厦 广场 公寓 家园 园 苑 府 城 中心 大楼 新村 山庄 公馆 国际 名都 华府 商厦 写字楼 科技园 产业园 "
        "软件园 大院 宿舍 天街 数码城 饭店 酒店 医院 大学 中学 小学 社区 SOHO soho Soho".split(),
        "B",
    ),
}
_CN_NUM = "一二三四五六七八九十百零两"
_PLACES = frozenset(_CITIES) | frozenset(_PROVINCE_NAMES)
_ADDR_PART = re.compile(
    rf"(?P<P>{_trie([*_PROVINCE_NAMES, *(n + '省' for n in _PROVINCE_NAMES)])})"
    rf"|(?P<C>{_trie(_CITIES)}市?)"
    r"|(?P<J>交叉口|交汇处|十字路口|路口)"
    rf"|(?P<W>(?:[A-Za-z]{{2,10}})?{_N1}{_NS}{{0,9}}?(?:(?=[{''.join(sorted({k[0] for k in _SUFFIX_KIND}))}])"
    rf"(?P<suf>{_trie(list(_SUFFIX_KIND))})(?:[东西南北中]?[{_CN_NUM}\d]*段|[{_CN_NUM}\d]+期)?"
    # a compound without a telling suffix, named only by the building number after it: 金地名京12栋, 桃源居2-1-2602
    r"|(?=\d{1,3}-\d{1,2}-\d{3,4}|(?:\d+|[A-Za-z])(?:栋|幢|号楼|单元|座))))"
    rf"|(?P<N>(?:\d+(?:-\d+){{0,3}}|[{_CN_NUM}]+)(?:号院|号楼|号|弄))"
    rf"|(?P<U>(?:\d+|[{_CN_NUM}]+|[A-Za-z]\d{{0,3}})(?:栋|幢|座|楼|单元|室|层|组|期|户|排|区|号楼))"
    r"|(?P<X>(?:[A-Za-z]\d{1,3}|\d{1,3}(?:-\d{1,4}){1,3}|\d{2,5})(?:室|房)?)"
)
_ADDR_ANCHOR = re.compile(
    r"[省市区县镇乡村路街道巷弄]|单元|[\dA-Za-z一二三四五六七八九十][号栋幢室楼座]|SOHO|soho|\d-\d{1,2}-\d"
)
_GROUP_KIND = {"J": "R"}


def _addresses(t: str, out: list[tuple[int, int, str]]) -> None:
    """Scan for address parts only around anchors (a unit character such as 路 or 栋): a part ends within a
    few characters of one, and scanning the whole message costs several times more."""
    windows: list[list[int]] = []
    for m in _ADDR_ANCHOR.finditer(t):
        lo, hi = max(0, m.start() - 16), min(len(t), m.end() + 12)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = hi
        else:
            windows.append([lo, hi])
    for lo, hi in windows:
        _address_window(t, lo, hi, out)


def _address_window(t: str, lo: int, hi: int, out: list[tuple[int, int, str]]) -> None:
    chain: list[tuple[int, int, str]] = []
    for m in _ADDR_PART.finditer(t, lo, hi):
        group = m.lastgroup or ""
        if group in ("W", "suf"):
            suf = m.group("suf")
            kind = _SUFFIX_KIND[suf] if suf else "B"
        else:
            kind = _GROUP_KIND.get(group, group)
        if chain:
            gap = t[chain[-1][1] : m.start()]
            if gap in ("", " ", "·", "-") or (gap in ("与", "和") and chain[-1][2] == "R"):
                chain.append((m.start(), m.end(), kind))
                continue
            if len(gap) == 1 and gap in _SUFFIX_KIND:
                # "北京" + "路": a known place name is the first half of a road or village name.
                chain[-1] = (chain[-1][0], m.start(), _SUFFIX_KIND[gap])
                chain.append((m.start(), m.end(), kind))
                continue
            if len(gap) == 1 and "\u4e00" <= gap <= "\u9fff" and gap not in _ADDR_STOP_STRONG:
                # "成都市" + "成" + "华区": a part whose first character may not begin a place name on its own.
                chain.append((m.start() - 1, m.end(), kind))
                continue
        _accept_chain(chain, out)
        chain = [(m.start(), m.end(), kind)]
    if chain and chain[-1][1] < len(t) and t[chain[-1][1]] in _SUFFIX_KIND:
        chain[-1] = (chain[-1][0], chain[-1][1] + 1, _SUFFIX_KIND[t[chain[-1][1]]])
    _accept_chain(chain, out)


def _accept_chain(chain: list[tuple[int, int, str]], out: list[tuple[int, int, str]]) -> None:
    while chain and chain[0][2] == "X":
        chain = chain[1:]
    if len(chain) < 2:
        return
    kinds = {k for _, _, k in chain}
    units = sum(1 for _, _, k in chain if k == "U")
    ok = (
        ("R" in kinds and kinds & {"N", "U", "B"})
        or ("B" in kinds and kinds & {"N", "U", "X", "D"})
        or units >= 2
        or ("T" in kinds and kinds & {"N", "U", "X"})
        or ("N" in kinds and "U" in kinds)
        or ("N" in kinds and kinds & {"X", "D", "C"} and len(chain) >= 3)
    )
    if ok:
        out.append((chain[0][0], chain[-1][1], "addr"))


_EN_STREET = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace|Close|Crescent"
    r"|Square|Sq|Highway|Hwy|Parkway|Pkwy)"
)
_EN_ADDR_HINT = re.compile(r"\d[A-Za-z]?\s+[A-Z][a-z]")
_EN_ADDR = re.compile(
    r"(?:(?:Flat|Apt|Apartment|Unit|Suite|Room|Rm)\.?\s*#?\w+,\s*)?(?:No\.\s*)?"
    rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][A-Za-z'’.-]*\s+){{1,3}}{_EN_STREET}\b\.?"
    r"(?:,?\s*(?:Apt|Apartment|Unit|Suite|Flat|Room|#)\.?\s*#?\w+)?"
    # then up to three of: ", CA 94043" | ", Mountain View" | ", London NW1 6XE" (city words are Capitalised,
    # so a postcode is not read as one)
    r"(?:,\s*(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|[A-Z][a-z]+(?:\s[A-Z][a-z]+)*(?:\s+[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})?)){0,3}"
)


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------
_SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章"
    "鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶"
    "解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫"
    "寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_SURNAMES_2 = (
    "欧阳 司马 诸葛 上官 慕容 东方 皇甫 司徒 令狐 夏侯 尉迟 公孙 长孙 宇文 轩辕 端木 南宫 独孤 西门 申屠 太史".split()
)
# Characters that do not occur in a given name here, so that "我叫张三想问一下" stops at 张三.
_GIVEN_STOP = set(
    "的了是在我你他她想要问请帮买退换查改说就也还和跟给从到去来呢吗吧啊呀哦嗯电话手机号码地址收件人先生女士小姐身份证卡邮箱订单"
    "快递谢麻烦下这那个有没不已经才现今昨上周用能以会都很太吧嘛哈啦呗么什怎样哪里为因所但而且或者如果就是让把被对于等多少"
    "几点时候年日号发货到付款寄送取签代收填写错"
)
_G = _cjk_class(_GIVEN_STOP)
_SURNAME = "(?:" + "|".join(_SURNAMES_2) + f"|[{_SURNAMES_1}])"
_CN_NAME = rf"{_SURNAME}{_G}{{1,2}}"
# Two-character words that begin with a surname but are not names.
_NOT_NAMES = frozenset(
    "方式 方便 方法 方面 于是 高兴 马上 谢谢 包裹 时间 全部 余额 费用 申请 付款 文件 华为 安全 金额 黄色 白色 蓝色 "
    "程序 任何 万一 "
    "原来 关于 司机 石头 钱包 何时 应该 成功 常用 温度 明天 尚未 顾客 苏宁 京东 全国 齐全 单独 包装 包邮 车主 车牌 "
    "车子 师傅 "
    "毛衣 邮政 路上 路线 连接 连续 管理 简单 商品 商家 商城 宁可 和平 和好 向前 周末 周一 周二 周三 周四 周五 周六 "
    "周日 周年 "
    "林业 金卡 金色 银色 卫生 游戏 关注 关闭 关系 快乐 易购 百度 高速 高铁 米色 景区 党员 宫颈 柏林 戚风 左右 左边 "
    "甘肃 祝福 "
    "符合 舒服 阮籍 纪念 梅花 童装 凌晨 毕业 季度 霍乱 成都 苗条 谷歌 盛大 曲线 冉冉 蓝牙 游泳 辛苦 管道 柴油 蒙古 "
    "华北 华南 "
    "文字 文本 牛奶 安装 齐了 易碎 乔迁 庞大 颜色 庄园 章程 岳父 岳母 殷勤 申通 欧洲 关键 兰州 焦急 左手 甘心 祝你 "
    "包括 宁波 "
    "尚品 舒适 柯南 梅州 童鞋 单元 成本 成功 路由 游客 能否 解决 解释 时候 时尚 穆斯 农村 司法 古董 吉祥 简直 车型 "
    "项目 连衣 "
    "麦当 褚橙 景德 宫廷 卜算 冷藏 席位 米粉 柏油 宗旨 全新 应用 边框 师兄 和服 商务 沙发 荣耀 郎酒 查询 池子 迟到 "
    "明白 明细 "
    "查看 查到 查下 沙滩 巫山 寇准 谢了 谢啦 麻辣 苑子 雷达 熊猫 金属 房子 房间 计划 石家 黎明 史上 段位 龙虾 龙华 "
    "罗马 宋体 "
    "江湖 温州 温馨 孔子 姜丝 崔健 陆续 汪汪 万达 万科 严重 江南 武汉 戴尔 莫名 向下 汤圆 常熟 常州 康师 施工 文明 "
    "牛仔 樊登 "
    "葛优 邢台 安排 安静 齐天 易烊 乔丹 伍佰 庞麦 颜值 倪妮 庄子 聂耳 章鱼 鲁迅 岳阳 翟天 詹姆 申报 欧美 耿直 关门 "
    "兰花 焦点 "
    "俞敏 柳州 甘蔗 祝贺 包头 尚且 符号 舒肤 阮一 柯基 纪录 梅西 童话 凌乱 毕竟 单价 季节 裴秀 霍金 涂料 成人 苗族 "
    "谷物 盛开 "
    "曲奇 翁源 冉闵 骆驼 蓝色 路由 游览 辛巴 靳东 管家 柴犬 蒙牛 鲍鱼 华硕 喻文 祁连 蒲公 房东 滕州 屈臣 饶舌 解放 "
    "牟平 艾滋 "
    "尤其 阳台 阳光 时代 穆桂 农夫 司令 卓越 古城 吉他 缪斯 简历 车辆 项链 连锁 芦荟 麦片 褚时 娄底 窦靖 戚继 岑溪 "
    "景点 党建 "
    "宫保 费率 卜卦 冷静 晏殊 席梦 卫衣 米饭 柏拉 宗教 瞿秋 桂林 全额 佟丽 应急 臧天 闵行 苟且 邬君 边境 卞之 姬松 "
    "师范 和田 "
    "仇恨 栾川 隋唐 商量 刁难 沙县 荣誉 巫师 寇丹 桑拿 郎朗 甄嬛 丛林 仲裁 虞姬 敖包 巩固 明星 佘山 池塘 查收 麻烦 "
    "苑里 迟早 "
    "邝美 高端 高级 高清 高价 王者 王牌 王老 李宁 李子 张贴 刘海 陈列 杨梅 黄金 赵本 周边 徐徐 孙子 马克 朱古 胡萝 "
    "郭德 何必 "
    "林荫 罗汉 郑州 梁山 谢绝 唐装 许多 韩国 韩版 冯巩 邓紫 曹操 彭于 曾经 肖像 田园 董事 袁隆 潘多 于是 蒋介 蔡徐 "
    "余下 杜蕾 "
    "叶子 程度 苏州 魏晋 吕布 丁香 任意 沈阳 姚明 卢浮 姜汁 崔永 钟表 谭咏 陆地 汪峰 范围 金额 石榴 廖凡 贾玲 夏天 "
    "夏季 韦小 "
    "付费 付了 方向 白天 白金 邹城 孟子 熊孩 秦始 邱比 江西 尹正 薛之 闫妮 段子 雷军 侯门 龙井 史诗 黎族 贺岁 顾问 "
    "毛巾 郝蕾 "
    "龚琳 邵氏 万元 钱款 严格 覃塘 武器 戴森 莫斯 孔雀 向日 汤姆 常见 温柔 康复 施华 文具 牛排 樊城 葛根 邢菲 "
    "安卓 安心 齐刘 易拉 乔布 伍兹 庞然 颜料 倪萍 庄稼 聂卫 章子 鲁班 岳云 翟欣 殷桃 詹青 申雪 欧莱 耿乐 关晓 兰蔻 "
    "焦糖 俞灏 "
    "左岸 柳树 甘草 祝英 包子 宁静 尚雯 符文 舒淇 阮经 柯以 纪梵 梅兰 童年 凌云 毕加 单身 季风 裴勇 霍尊 涂鸦 成年 "
    "苗圃 谷粒 "
    "全家 全场 全款 全套 全程 明年 明早 明后 明确 应当 应付 和我 和你 和他 和她 向您 向你 时效 时长 申诉 司马 管用 "
    "连夜 "
    "路过 路口 车上 车里 车位 简易 项目 游戏 盛惠 宁愿 卫浴 华丽 包退 包换 包赔 包运 包税 包装 单子 单号 单品 单价 "
    "单件 关机 关联 关掉 余款 费劲 付款 付钱 房租 景色 冷冻 冷气 米粒 谷物 查了 查一 全部 万能 和谐 商户 商量 时间 "
    "时段 党费".split()
)
_NAME_TRIGGERS = _words("""
    收件|收货|联系|寄件|发件|取件|签收|提货|持卡|紧急联系|报案|下单|订购|购买|购货|投保|被保险|乘机|入住|预约 + 人
    孩子|儿子|女儿|老公|老婆|朋友|他|她 + 叫
    我|他|她 + 是
    我叫 我的名字是 我的名字叫 名字 名字是 名字叫 名叫 叫做 姓名 开户名 户名 本人 车主 客户 顾客 买家 会员
    是 联系 找 给 转告 朋友 老公 老婆 爸爸 妈妈 同事 帮 替 收件 收货 写的 写的是 填的 填的是
""")
_NAME_TRIGGER = re.compile(
    rf"(?P<trig>{_trie(_NAME_TRIGGERS)})"
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
_WEAK_TRIGGERS = frozenset(
    "是 我是 他是 她是 找 给 联系 转告 朋友 老公 老婆 爸爸 妈妈 同事 客户 顾客 买家 会员 帮 替 收件 收货 "
    "写的 写的是 填的 填的是".split()
)
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
_EN_HINTS = (
    "name",
    "i'm",
    "i’m",
    "i am",
    "im ",
    "this is",
    "recipient",
    "contact",
    "attn",
    "signed",
    "regards",
    "mr",
    "ms",
    "miss",
    "dr",
    "here",
)
_EN_HERE = re.compile(rf"(?:^|[,.]\s*)(?P<name>{_EN_NAME_WORD}(?:\s+{_EN_NAME_WORD})?)\s+here\b")
_EN_NOT_NAME = frozenset(
    "Not Very So Just Still Really Sorry Here In At On From A An The It Is And Or But Writing Looking Waiting Trying "
    "Going Calling Contacting Interested Unable Having Done Fine Ok Okay OK Glad Happy Angry Upset Confused "
    "Disappointed "
    "Urgent Shanghai Beijing China Your You We They Please Thanks Thank Hi Hello Dear Order Customer Refund Again Also "
    "Back Now Ready Able Sure New Being Trying Unhappy Frustrated Missing Available I My Me This That Chinese "
    "American British English Canadian Australian Japanese Korean German French Indian Student Teacher Member VIP "
    "Vip Owner Manager Boss Buyer Seller Mr Mrs Ms Miss Dr Great Good Awesome Amazing Terrible Bad Shop Store Team "
    "Support Service Sir Madam All Everyone Friend Brother Sister Mom Dad Wife Husband Today Tomorrow Yesterday".split()
)
_NAME_HINT = re.compile(
    r"叫|名|收件|收货|联系|寄件|发件|取件|签收|提货|持卡|户名|本人|车主|客户|是|找|给|转告|先生|女士|小姐|朋友|老公|老婆|爸爸|妈妈|同事"
    r"|人|的|帮|替|写的|填的|顾客|买家|会员|老师|经理|总|[Nn]ame|I'm|I’m|[Ii] am|\bim\b|[Tt]his "
    r"is|[Rr]ecipient|[Cc]ontact|[Aa]ttn|[Ss]igned|[Rr]egards|Mrs?\b|Ms\b|Miss|Dr\b|here\b"
)


def _cn_name_ok(name: str) -> bool:
    """False for common words and place names that begin with a surname character (方便, 江苏, 周末 ...)."""
    return name[:2] not in _NOT_NAMES and name not in _NOT_NAMES and name not in _PLACES and name[:2] not in _PLACES


def _names(t: str, out: list[tuple[int, int, str]]) -> None:
    if not _NAME_HINT.search(t):
        return
    for m in _NAME_TRIGGER.finditer(t):
        a, b = m.span("name")
        weak = m.group("trig") in _WEAK_TRIGGERS
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
            if t[a:b] not in _NOT_NAMES:
                out.append((a, b, "name"))
    if not _EN_UPPER.search(t):
        return
    if "人" in t or "名" in t or "叫" in t:
        for m in _CN_TRIGGER_EN_NAME.finditer(t):
            out.append((*m.span("name"), "name"))
    tl = t.lower()
    if not any(w in tl for w in _EN_HINTS):
        return
    for m in _EN_NAME.finditer(t):
        words = m.group("name").split()
        while words and words[-1] in _EN_NOT_NAME:
            words.pop()
        if not words or words[0] in _EN_NOT_NAME or words[0].endswith("ing"):
            continue
        a = m.start("name")
        out.append((a, a + len(" ".join(words)) if len(words) > 1 else a + len(words[0]), "name"))
    for m in _EN_HERE.finditer(t):
        if m.group("name").split()[0] not in _EN_NOT_NAME:
            out.append((*m.span("name"), "name"))


def _neighbour_names(t: str, spans: list[tuple[int, int, str]], out: list[tuple[int, int, str]]) -> None:
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


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def _resolve(cands: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping spans: higher-priority kinds first, then longer spans."""
    chosen: list[tuple[int, int, str]] = []
    for s, e, k in sorted(cands, key=lambda c: (_PRIORITY[c[2]], c[0] - c[1], c[0])):
        if all(e <= cs or s >= ce for cs, ce, _ in chosen):
            chosen.append((s, e, k))
    chosen.sort()
    return chosen


def detect(text: str) -> list[PiiSpan]:
    """Personal data in `text`, as sorted non-overlapping spans with offsets into `text`."""
    if not text:
        return []
    t = text.translate(_NORMALISE) if _FULLWIDTH.search(text) else text
    cands: list[tuple[int, int, str]] = []
    if "@" in t:
        cands.extend((m.start(), m.end(), "email") for m in _EMAIL.finditer(t))
    _numbers(t, cands)
    _passports(t, cands)
    _plates(t, cands)
    _addresses(t, cands)
    if _EN_ADDR_HINT.search(t):
        cands.extend((m.start(), m.end(), "addr") for m in _EN_ADDR.finditer(t))
    _names(t, cands)
    spans = _resolve(cands)
    extra: list[tuple[int, int, str]] = []
    _neighbour_names(t, spans, extra)
    if extra:
        spans = _resolve(spans + extra)
    return [PiiSpan(s, e, k, text[s:e]) for s, e, k in spans]


def mask(text: str) -> Masked:
    """`text` with each piece of personal data replaced by its typed placeholder: "张三 138..." -> "[姓名] [手机号]"."""
    spans = detect(text)
    if not spans:
        return Masked(text, [])
    parts, pos = [], 0
    for sp in spans:
        parts.append(text[pos : sp.start])
        parts.append(PLACEHOLDERS[sp.kind])
        pos = sp.end
    parts.append(text[pos:])
    return Masked("".join(parts), spans)
