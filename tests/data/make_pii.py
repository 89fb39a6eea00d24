"""Build tests/data/pii_zh.jsonl: the PII evaluation set for the guard.

The message templates below were written by hand, in the way customers write in a shop's chat window
(colloquial, typos, pasted shipping labels, English mixed in). The personal data that fills them is
synthetic and generated here, so that ID numbers carry correct checksums and bank card numbers pass
Luhn; every offset is checked before a line is written.

Each line: {"text": ..., "pii": [[start, end, kind], ...], "split": "dev" | "held"}.
`split` marks about 30% of the TEMPLATES (not of the lines) as held out: the recognisers were tuned on
"dev" lines only, and "held" lines measure how they do on phrasings they were not tuned on.

    python tests/data/make_pii.py            # writes tests/data/pii_zh.jsonl
"""

from __future__ import annotations

import json
import random
import re
import zlib
from pathlib import Path

OUT = Path(__file__).with_name("pii_zh.jsonl")
rng = random.Random(20260524)

# --------------------------------------------------------------------------------------------
# Value generators (PII)
# --------------------------------------------------------------------------------------------
FULLWIDTH = str.maketrans("0123456789+-()Xx", "０１２３４５６７８９＋－（）Ｘｘ")

REGIONS = [
    "110101",
    "110105",
    "110108",
    "120101",
    "130102",
    "140105",
    "150102",
    "210102",
    "220102",
    "230103",
    "310104",
    "310115",
    "320102",
    "320505",
    "330106",
    "330110",
    "340104",
    "350203",
    "360102",
    "370202",
    "410105",
    "420111",
    "430104",
    "440106",
    "440305",
    "440304",
    "450103",
    "460105",
    "500103",
    "510107",
    "520102",
    "530102",
    "540102",
    "610113",
    "620102",
    "630104",
    "640104",
    "650102",
    "441900",
    "371302",
]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"


def id_check(body17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def birth(lo: int = 1955, hi: int = 2006) -> str:
    y = rng.randint(lo, hi)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28 if m == 2 else 30)
    return f"{y:04d}{m:02d}{d:02d}"


def id18_raw(valid: bool = True) -> str:
    body = rng.choice(REGIONS) + birth() + f"{rng.randint(0, 999):03d}"
    c = id_check(body)
    if not valid:
        c = rng.choice([x for x in "0123456789X" if x != c])
    return body + c


def fmt_id(raw: str) -> str:
    r = rng.random()
    if raw.endswith("X") and rng.random() < 0.3:
        raw = raw[:-1] + "x"
    if r < 0.72:
        return raw
    if r < 0.82:
        return f"{raw[:6]} {raw[6:14]} {raw[14:]}"
    if r < 0.90:
        return raw.translate(FULLWIDTH)
    if r < 0.95:
        return " ".join(raw[i : i + 4] for i in range(0, 18, 4))
    return f"{raw[:6]}-{raw[6:14]}-{raw[14:]}"


def gen_id() -> str:
    return fmt_id(id18_raw(True))


def gen_idbad() -> str:
    return fmt_id(id18_raw(False))


def gen_id15() -> str:
    return rng.choice(REGIONS) + birth(1940, 1980)[2:] + f"{rng.randint(0, 999):03d}"


MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "147",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "170",
    "173",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "193",
    "195",
    "198",
    "199",
]


def gen_mobile() -> str:
    raw = rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))
    r = rng.random()
    if r < 0.5:
        return raw
    if r < 0.64:
        return f"{raw[:3]} {raw[3:7]} {raw[7:]}"
    if r < 0.73:
        return f"{raw[:3]}-{raw[3:7]}-{raw[7:]}"
    if r < 0.80:
        return f"+86 {raw[:3]} {raw[3:7]} {raw[7:]}" if rng.random() < 0.5 else f"+86 {raw}"
    if r < 0.83:
        return f"+86-{raw}"
    if r < 0.85:
        return "86" + raw
    if r < 0.92:
        return raw.translate(FULLWIDTH)
    if r < 0.96:
        return f"{raw[:7]} {raw[7:]}"
    return f"{raw[:3]} {raw[3:]}"


AREA = [
    "010",
    "021",
    "020",
    "022",
    "023",
    "024",
    "025",
    "027",
    "028",
    "029",
    "0571",
    "0755",
    "0512",
    "0731",
    "0591",
    "0532",
    "0351",
    "0871",
    "0769",
    "0574",
    "0898",
    "0431",
]


def gen_phone() -> str:
    area = rng.choice(AREA)
    n = 8 if len(area) == 3 or rng.random() < 0.8 else 7
    local = str(rng.randint(2, 8)) + "".join(rng.choice("0123456789") for _ in range(n - 1))
    r = rng.random()
    if r < 0.45:
        return f"{area}-{local}"
    if r < 0.6:
        return f"{area}{local}"
    if r < 0.7:
        return f"({area}){local}"
    if r < 0.78:
        return f"（{area}）{local[:4]} {local[4:]}"
    if r < 0.9:
        return f"{area} {local[:4]} {local[4:]}"
    return f"{area}-{local[:4]}-{local[4:]}"


CARD_PREFIXES = [
    ("622202", 19),
    ("622848", 19),
    ("621700", 19),
    ("622588", 16),
    ("621226", 19),
    ("622700", 19),
    ("623058", 19),
    ("436742", 19),
    ("622155", 16),
    ("622262", 19),
    ("955880", 19),
    ("601382", 19),
    ("625911", 16),
    ("453242", 16),
    ("524094", 16),
    ("622609", 16),
    ("621483", 16),
    ("628888", 18),
    ("622908", 18),
    ("356889", 16),
    ("518710", 16),
    ("621661", 17),
]


def luhn_complete(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def gen_card() -> str:
    pre, n = rng.choice(CARD_PREFIXES)
    raw = luhn_complete(pre + "".join(rng.choice("0123456789") for _ in range(n - len(pre) - 1)))
    r = rng.random()
    if r < 0.45:
        return raw
    if r < 0.8:
        return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    if r < 0.88:
        return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    if r < 0.94:
        return raw.translate(FULLWIDTH)
    return f"{raw[:6]} {raw[6:]}"


PINYIN = [
    "zhangwei",
    "wangfang",
    "liuyang",
    "chenjing",
    "lina",
    "zhaolei",
    "huangmin",
    "zhouqiang",
    "wuxia",
    "xuli",
    "sunhao",
    "maqian",
    "hujun",
    "guoxin",
    "heyan",
    "linfeng",
    "luoyi",
    "gaoyuan",
    "zhengtao",
]
EN_FIRST = [
    "john",
    "emily",
    "michael",
    "sarah",
    "david",
    "anna",
    "chris",
    "kate",
    "tom",
    "lucy",
    "kevin",
    "grace",
    "jason",
    "amy",
]
DOMAINS = [
    "qq.com",
    "163.com",
    "126.com",
    "gmail.com",
    "outlook.com",
    "foxmail.com",
    "sina.com",
    "hotmail.com",
    "yahoo.com",
    "icloud.com",
    "139.com",
    "aliyun.com",
    "company.com.cn",
    "sjtu.edu.cn",
    "huawei.com",
    "example.co.uk",
    "mail.ustc.edu.cn",
]


def gen_email() -> str:
    r = rng.random()
    if r < 0.3:
        local = str(rng.randint(10**6, 10**10))
        dom = "qq.com" if rng.random() < 0.8 else "foxmail.com"
        return f"{local}@{dom}"
    if r < 0.65:
        local = rng.choice(PINYIN) + rng.choice(
            ["", str(rng.randint(1, 99)), str(rng.randint(1970, 2005)), "_" + str(rng.randint(1, 999))]
        )
    elif r < 0.85:
        local = (
            rng.choice(EN_FIRST)
            + rng.choice([".", "_", ""])
            + rng.choice(["smith", "lee", "wang", "chen", "brown", "liu", ""])
        )
        local = local.rstrip("._")
    else:
        local = rng.choice(["sales", "ivy.li", "a.b-c", "mr.zhang+shop", "xiaoming2008", "cc_cat"])
    return f"{local}@{rng.choice(DOMAINS)}"


def gen_passport() -> str:
    r = rng.random()
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    if r < 0.55:
        return "E" + digits(8)
    if r < 0.85:
        return "E" + rng.choice("ABCDEFGH") + digits(7)
    return "G" + digits(8)


def gen_fpassport() -> str:
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    return rng.choice(
        [
            str(rng.randint(1, 9)) + digits(8),  # US / UK: 9 digits
            "TK" + digits(7),  # Japan
            "M" + digits(8),  # Korea
            "K" + digits(7),  # India
            "C" + rng.choice("FGHJK") + digits(2) + rng.choice("ABCDEFGH") + digits(4),  # Germany style, 9 alnum
            digits(2) + "AB" + digits(5),  # France
            "N" + digits(7),  # Australia
            "AB" + digits(6),  # Canada
        ]
    )


def gen_hkpermit() -> str:
    return "C" + rng.choice("ABCDEFGH0123456789") + "".join(rng.choice("0123456789") for _ in range(7))


PLATE_PROV = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤川宁琼"
PLATE_LET = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def gen_plate() -> str:
    p = rng.choice(PLATE_PROV) + rng.choice("ABCDEFGHJKLM")
    r = rng.random()
    if r < 0.55:
        body = [rng.choice("0123456789") for _ in range(5)]
        for _ in range(rng.randint(0, 2)):
            body[rng.randint(0, 4)] = rng.choice(PLATE_LET)
        tail = "".join(body)
    elif r < 0.8:
        tail = (
            rng.choice("DF")
            + rng.choice(PLATE_LET + "0123456789")
            + "".join(rng.choice("0123456789") for _ in range(4))
        )
    else:
        tail = "".join(rng.choice("0123456789") for _ in range(5)) + rng.choice("DF")
    sep = rng.choices(["", "·", " "], [0.7, 0.22, 0.08])[0]
    return p + sep + tail


SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND = ["欧阳", "司马", "诸葛", "上官", "慕容", "东方", "皇甫", "司徒"]
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉萍红鹏飞辉建国文斌宇浩凯秀兰志梅琳雪晨欣怡子轩梓涵"
    "思远佳琪一诺雨桐博文俊杰嘉怡欣然宏亮海燕春晓秋月冬梅"
)


def gen_name() -> str:
    s = rng.choice(COMPOUND) if rng.random() < 0.05 else rng.choice(SURNAMES)
    return s + "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.35 else 2))


def gen_sname() -> str:
    return rng.choice(SURNAMES)


EN_NAMES_F = [
    "John",
    "Emily",
    "Michael",
    "Sarah",
    "David",
    "Anna",
    "Chris",
    "Kate",
    "Tom",
    "Lucy",
    "Kevin",
    "Grace",
    "Jason",
    "Amy",
    "Daniel",
    "Olivia",
    "Mohammed",
    "Priya",
    "Hiroshi",
    "Maria",
    "Wei",
    "Li",
    "Peter",
]
EN_NAMES_L = [
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Chen",
    "Wang",
    "Zhang",
    "Garcia",
    "Nguyen",
    "Kim",
    "Tanaka",
    "Müller",
    "O'Brien",
    "Patel",
    "Lopez",
    "Anderson",
    "Li",
    "Liu",
    "Evans",
]


def gen_ename() -> str:
    if rng.random() < 0.2:
        return rng.choice(EN_NAMES_F)
    return f"{rng.choice(EN_NAMES_F)} {rng.choice(EN_NAMES_L)}"


def gen_esurname() -> str:
    return rng.choice(EN_NAMES_L)


# Addresses ------------------------------------------------------------------------------------
CITIES = [
    (
        "",
        "北京市",
        ["朝阳区", "海淀区", "东城区", "丰台区", "昌平区"],
        ["建国路", "中关村大街", "望京街", "学院路", "回龙观西大街", "长安街", "三里屯路"],
    ),
    (
        "",
        "上海市",
        ["浦东新区", "徐汇区", "闵行区", "静安区", "杨浦区"],
        ["张江路", "漕溪北路", "南京西路", "世纪大道", "国权路", "虹梅路", "莘庄路"],
    ),
    (
        "广东省",
        "深圳市",
        ["南山区", "福田区", "宝安区", "龙岗区", "龙华区"],
        ["科技南十二路", "深南大道", "科苑路", "新安六路", "布吉路", "民治大道"],
    ),
    (
        "广东省",
        "广州市",
        ["天河区", "越秀区", "番禺区", "白云区", "海珠区"],
        ["天河路", "中山五路", "市桥街", "机场路", "江南大道中"],
    ),
    ("浙江省", "杭州市", ["西湖区", "余杭区", "滨江区", "拱墅区"], ["文三路", "文一西路", "江南大道", "莫干山路"]),
    ("江苏省", "南京市", ["玄武区", "鼓楼区", "江宁区"], ["中山路", "珠江路", "双龙大道", "汉中路"]),
    ("江苏省", "苏州市", ["工业园区", "姑苏区", "吴中区"], ["星湖街", "人民路", "东吴北路"]),
    (
        "四川省",
        "成都市",
        ["武侯区", "锦江区", "高新区", "双流区"],
        ["人民南路四段", "天府大道北段", "春熙路", "红星路三段"],
    ),
    ("湖北省", "武汉市", ["洪山区", "江汉区", "武昌区"], ["珞喻路", "解放大道", "中南路", "光谷大道"]),
    ("", "重庆市", ["渝中区", "江北区", "渝北区"], ["解放碑民族路", "观音桥步行街", "金开大道"]),
    ("陕西省", "西安市", ["雁塔区", "碑林区", "未央区"], ["科技路", "长安北路", "凤城八路"]),
    ("山东省", "青岛市", ["市南区", "崂山区", "黄岛区"], ["香港中路", "海尔路", "长江中路"]),
    ("福建省", "厦门市", ["思明区", "湖里区"], ["鹭江道", "嘉禾路", "湖滨南路"]),
    ("湖南省", "长沙市", ["岳麓区", "芙蓉区", "雨花区"], ["麓山南路", "五一大道", "劳动西路"]),
    ("河南省", "郑州市", ["金水区", "二七区", "郑东新区"], ["花园路", "大学路", "商务外环路"]),
    ("", "天津市", ["和平区", "南开区", "滨海新区"], ["南京路", "卫津路", "第三大街"]),
    ("辽宁省", "沈阳市", ["和平区", "浑南区"], ["南京北街", "浑南中路"]),
    ("黑龙江省", "哈尔滨市", ["南岗区", "道里区"], ["西大直街", "中央大街"]),
    ("云南省", "昆明市", ["五华区", "盘龙区"], ["东风西路", "北京路"]),
    ("广西壮族自治区", "南宁市", ["青秀区", "西乡塘区"], ["民族大道", "大学东路"]),
    ("河北省", "石家庄市", ["长安区", "裕华区"], ["中山东路", "槐安东路"]),
    ("安徽省", "合肥市", ["蜀山区", "包河区"], ["长江西路", "徽州大道"]),
]
COMPOUNDS = [
    "阳光花园",
    "万科城",
    "碧桂园",
    "翠湖小区",
    "金地名京",
    "华润城",
    "保利香槟国际",
    "幸福里",
    "龙湖天街",
    "绿地世纪城",
    "恒大名都",
    "锦绣江南",
    "中海国际社区",
    "紫荆公寓",
    "望京SOHO",
    "建外SOHO",
    "融科资讯中心",
    "腾讯大厦",
    "国贸大厦",
    "天安数码城",
    "世纪金源大饭店",
    "东方明珠花苑",
    "梅林一村",
    "桃源居",
    "软件园二期",
    "创业大厦",
    "金茂府",
    "新城花园",
    "南湖小区",
    "和平里",
]
COUNTIES = [
    ("浙江省", "丽水市", "缙云县", "壶镇镇", "前路村"),
    ("河南省", "周口市", "郸城县", "宜路镇", "张庄村"),
    ("四川省", "南充市", "仪陇县", "马鞍镇", "观紫村"),
    ("湖南省", "邵阳市", "隆回县", "桃洪镇", "新村村"),
    ("山东省", "临沂市", "沂水县", "许家湖镇", "东王庄村"),
    ("江西省", "赣州市", "于都县", "贡江镇", "长塘村"),
    ("广东省", "梅州市", "五华县", "水寨镇", "大坝村"),
    ("安徽省", "阜阳市", "临泉县", "城关镇", "李庄村"),
]


def num(lo: int, hi: int) -> str:
    return str(rng.randint(lo, hi))


def room() -> str:
    return f"{rng.randint(1, 32)}{rng.randint(1, 8):02d}"


def gen_addr() -> str:
    prov, city, dists, roads = rng.choice(CITIES)
    dist, road = rng.choice(dists), rng.choice(roads)
    comp = rng.choice(COMPOUNDS)
    prov = prov if rng.random() < 0.6 else ""
    city_s = city if rng.random() < 0.75 else city.rstrip("市")
    r = rng.random()
    if r < 0.16:
        return f"{prov}{city_s}{dist}{road}{num(1, 999)}号"
    if r < 0.30:
        return f"{city_s}{dist}{road}{num(1, 600)}号{comp}{num(1, 30)}栋{num(1, 6)}单元{room()}室"
    if r < 0.40:
        return f"{dist}{road}{num(1, 300)}号{rng.choice(['', comp])}{rng.choice(['A', 'B', 'C'])}座{room()}"
    if r < 0.50:
        return f"{city_s}{dist}{comp}{num(1, 30)}{rng.choice(['栋', '幢', '号楼'])}{num(1, 6)}单元{room()}"
    if r < 0.57:
        return f"{comp}{num(1, 20)}-{num(1, 6)}-{room()}"
    if r < 0.66:
        c = rng.choice(COUNTIES)
        pre = c[0] if rng.random() < 0.5 else ""
        return f"{pre}{c[1]}{c[2]}{c[3]}{c[4]}{num(1, 12)}组{num(1, 99)}号"
    if r < 0.74:
        parts = [p for p in (prov, city, dist, road + num(1, 400) + "号") if p]
        return " ".join(parts)
    if r < 0.82:
        return f"{city_s}{road}{num(1, 500)}号{comp}{num(2, 30)}楼"
    if r < 0.88:
        return f"{dist}{road}{num(1, 200)}弄{num(1, 60)}号{num(101, 1802)}室"
    if r < 0.94:
        return f"{prov}{city_s}{dist}{comp}{num(1, 20)}栋{room()}"
    other = rng.choice([x for x in roads if x != road])
    return f"{city_s}{dist}{road}与{other}交叉口{comp}{num(1, 9)}号楼{room()}"


EN_STREETS = [
    "Baker",
    "Main",
    "Oak",
    "Maple",
    "Queen's",
    "King",
    "High",
    "Park",
    "Elm",
    "Sunset",
    "Victoria",
    "Church",
    "Jianguo",
    "Nanjing West",
    "Zhongshan",
]
EN_SUFFIX = ["Street", "St", "Road", "Rd.", "Avenue", "Ave", "Lane", "Drive", "Boulevard", "Way"]
EN_CITIES = [
    ("San Francisco", "CA", "94107"),
    ("New York", "NY", "10001"),
    ("Seattle", "WA", "98101"),
    ("Austin", "TX", "73301"),
    ("Boston", "MA", "02118"),
]


def gen_eaddr() -> str:
    r = rng.random()
    street = f"{num(1, 9999)} {rng.choice(EN_STREETS)} {rng.choice(EN_SUFFIX)}"
    if r < 0.35:
        c, st, z = rng.choice(EN_CITIES)
        return f"{street}, {c}, {st} {z}"
    if r < 0.55:
        return f"{street}, Apt {num(1, 30)}{rng.choice('ABCD')}"
    if r < 0.7:
        return f"Flat {num(1, 40)}, {street}, London {rng.choice(['NW1 6XE', 'SW1A 1AA', 'E14 5AB'])}"
    if r < 0.85:
        return (
            f"Room {room()}, No. {num(1, 300)} {rng.choice(['Jianguo', 'Zhangjiang', 'Keyuan', 'Wensan'])} Road, "
            f"{rng.choice(['Chaoyang', 'Pudong', 'Nanshan', 'Xihu'])} District, "
            f"{rng.choice(['Beijing', 'Shanghai', 'Shenzhen', 'Hangzhou'])}"
        )
    return street


# --------------------------------------------------------------------------------------------
# Value generators (benign look-alikes: never recorded as spans)
# --------------------------------------------------------------------------------------------
def d(n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def gen_order() -> str:
    r = rng.random()
    ymd = f"20{rng.randint(23, 25)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    if r < 0.3:
        return ymd + d(8)  # 16 digits, date prefixed
    if r < 0.55:
        return str(rng.randint(1, 4)) + d(18)  # 19 digits, Taobao/Tmall style
    if r < 0.65:
        return ymd[2:] + d(12)  # 18 digits
    if r < 0.75:
        return "DD" + ymd + d(6)
    if r < 0.83:
        return ymd[2:] + "-" + d(15)  # Pinduoduo style
    if r < 0.9:
        o = ymd + d(8)
        return " ".join(o[i : i + 4] for i in range(0, 16, 4))
    return str(rng.randint(2, 3)) + d(11)  # JD, 12 digits


def gen_track() -> str:
    return rng.choice(
        [
            "SF" + d(13),
            "SF" + d(12),
            "YT" + d(13),
            "JT" + d(13),
            "7" + rng.choice("35") + d(10),
            "77" + d(11),
            "43" + d(11),
            "1" + d(12),
            "JDVA" + d(11),
            "JD" + d(13),
            "EA" + d(9) + "CN",
            "LP" + d(14),
            "DPK" + d(12),
            "YD" + d(13),
            "9" + d(12),
        ]
    )


def gen_sku() -> str:
    return rng.choice(
        [
            f"SKU-A{d(4)}-BLK-XL",
            "1000" + d(8),
            "69" + d(11),
            f"HW-P{d(2)}-256G",
            f"A{d(4)}",
            f"{d(6)}-{d(3)}",
            f"NK{d(6)}-{d(3)}",
            f"B0{d(2)}{rng.choice('ABCDEFGH')}{d(5)}",
            f"ZA{d(5)}XL",
        ]
    )


def gen_coupon() -> str:
    return rng.choice(
        [
            "VIP888",
            "SAVE20",
            "HB2024MAY",
            "XKFD-8H2K-Q9ZP",
            "NEW100",
            "618DISCOUNT",
            "FREESHIP",
            f"QX{d(6)}",
            f"MJ{d(3)}-{d(3)}",
            "DOUBLE11",
            f"HONGBAO{d(4)}",
            f"C{d(4)}OFF",
        ]
    )


def gen_hotline() -> str:
    return rng.choice(
        [
            f"400-{d(3)}-{d(4)}",
            f"400{d(7)}",
            f"400 {d(3)} {d(4)}",
            f"800-{d(3)}-{d(4)}",
            f"400-{d(4)}-{d(3)}",
            f"800{d(7)}",
        ]
    )


def gen_price() -> str:
    return rng.choice(
        [
            f"¥{rng.randint(1, 9999)}.{d(2)}",
            f"￥{rng.randint(1, 9)},{d(3)}",
            f"{rng.randint(9, 999)}元",
            f"{rng.randint(100, 9999)}.{d(2)}元",
            f"${rng.randint(5, 300)}.99",
            f"{rng.randint(10, 5000)}块",
            "¥8408.72",
            f"￥{rng.randint(10000, 99999)}",
        ]
    )


def gen_date() -> str:
    y, m, dd = rng.randint(2023, 2025), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice(
        [
            f"{y}-{m:02d}-{dd:02d}",
            f"{y}/{m}/{dd}",
            f"{m}月{dd}日",
            f"{m}月{dd}号",
            f"{y}{m:02d}{dd:02d}",
            f"{y}年{m}月{dd}日",
            f"{dd}号",
            f"May {dd}",
            f"{m}.{dd}",
        ]
    )


def gen_time() -> str:
    return rng.choice(
        [
            f"{rng.randint(8, 21)}:{rng.choice(['00', '30', '15'])}",
            f"下午{rng.randint(1, 6)}点",
            f"晚上{rng.randint(7, 10)}点半",
            f"上午{rng.randint(8, 11)}点",
        ]
    )


BENIGN = {
    "order": gen_order,
    "track": gen_track,
    "sku": gen_sku,
    "coupon": gen_coupon,
    "hotline": gen_hotline,
    "price": gen_price,
    "date": gen_date,
    "time": gen_time,
    "qty": lambda: rng.choice(["2", "3", "两", "5", "10", "1"]),
    "last4": lambda: d(4),
    "vcode": lambda: d(6),
    "ext": lambda: d(rng.choice([3, 4])),
    "pickup": lambda: rng.choice(
        [f"{rng.randint(1, 30)}-{rng.randint(1, 6)}-{d(4)}", f"{rng.randint(1, 9)}-{d(4)}", d(6)]
    ),
    "model": lambda: rng.choice(
        ["RTX4090", "iPhone 15 Pro", "小米14 Ultra", "Mate60", "X1 Carbon", "SM-S9180", "A2893", "KFR-35GW"]
    ),
    "taxid": lambda: (
        "91"
        + rng.choice(REGIONS)
        + rng.choice(["MA", "7", "0"])
        + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        + rng.choice("0123456789ABCX")
    ),
    "jdorder": lambda: str(rng.randint(2, 3)) + d(11),
    "pddorder": lambda: f"{rng.randint(23, 25)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{d(15)}",
    "serial": lambda: d(rng.choice([20, 22, 24])),
    "txn": lambda: "42000" + d(5) + "2024" + d(14),
    "alitxn": lambda: "2024" + d(4) + "2200" + d(16),
    "member": lambda: "88" + d(8),
    "weight": lambda: rng.choice(["2.5", "12", "0.8", "30"]),
    "size": lambda: rng.choice(["XL", "L", "42码", "M"]),
    "height": lambda: str(rng.randint(150, 190)),
    "inch": lambda: rng.choice(["27", "32", "65"]),
    "imei": lambda: luhn_complete(rng.choice(["86", "35"]) + d(12)),
    "sn": lambda: rng.choice(["C02XK1ABJG5J", f"SN{d(12)}", f"F{d(2)}K{d(7)}"]),
    "invoice": lambda: rng.choice([d(8), "24" + d(18)]),
    "ver": lambda: rng.choice(["3.2.1", "10.4", "8.0.47"]),
    "zip": lambda: rng.choice(["518057", "100020", "200120", "310013"]),
    "short": lambda: rng.choice(["95338", "95311", "95546", "10086", "12315", "95188", "95555", "95588"]),
    "amount": lambda: rng.choice(["200", "50", "1000", "30", "5"]),
}

PII = {
    "mobile": ("mobile", gen_mobile),
    "phone": ("phone", gen_phone),
    "id": ("id", gen_id),
    "idbad": ("id", gen_idbad),
    "id15": ("id", gen_id15),
    "card": ("card", gen_card),
    "email": ("email", gen_email),
    "passport": ("passport", gen_passport),
    "fpassport": ("passport", gen_fpassport),
    "hkpermit": ("passport", gen_hkpermit),
    "plate": ("plate", gen_plate),
    "name": ("name", gen_name),
    "sname": ("name", gen_sname),
    "ename": ("name", gen_ename),
    "esurname": ("name", gen_esurname),
    "addr": ("addr", gen_addr),
    "eaddr": ("addr", gen_eaddr),
}

# --------------------------------------------------------------------------------------------
# Templates, written by hand. (template, how many lines to draw from it)
# --------------------------------------------------------------------------------------------
PII_TEMPLATES = """
我的手机号是{mobile}，麻烦尽快联系我
电话{mobile}
{mobile} 这个号码打不通吗？我一直在等电话
快递员打{mobile}就行，白天都在
手机号填错了，应该是{mobile}，帮我改一下
有问题打我电话 {mobile} 谢谢
联系方式：{mobile}（微信同号）
换个号码吧 {mobile} 之前那个停机了
收货电话改成{mobile}
手几号{mobile}
加我微信 {mobile} 发图片给你看
亲 我手机{mobile} 到了打给我
can you call me at {mobile}? thanks
My phone number is {mobile}
退款没到账，我登录的手机号{mobile}查一下
{mobile}就是我的号，短信没收到验证码
麻烦让师傅送货前打个电话{mobile}，{time}以后在家
订单{order}的收货手机改成{mobile}
电活{mobile} 收货人{name}
手机好{mobile}，别打错了
座机{phone}，上班时间打
公司电话{phone}，找前台转我就行
打这个号{phone} 我家座机
固话：{phone}
office line {phone}, ext {ext}
白天打单位电话{phone}转{ext}
联系电话:{phone} 或 {mobile}
我的身份证号{id}，实名认证一直失败
身份证：{id}
身分证号码{id}对不上吗？
实名信息 {name} {id}
报关要身份证号是吧 {id}
清关需要的证件号{id}，收件人{name}
我的ID是{id}，帮我核实下
ID card number: {id}
{id} 这个是我身份证 为什么提示不正确
之前登记的是老身份证{id15}，现在换了
身份证号我可能打错了：{idbad}
证件号{idbad} 提示校验不通过
帮我查一下{idbad}这个身份证下面的订单
身份正{id}，麻烦快点审核
住址：{addr}。身份证：{id}。
退款退到这张卡{card}
银行卡号{card} 户名{name}
我的卡号是{card}，退款几天能到
{card} 这张卡被扣了两次钱
退款请打到 {card}（工商银行）
信用卡{card}分期怎么弄
please refund to my card {card}
卡号:{card} 开户行招商银行深圳分行
我付款用的卡是{card}，怎么显示支付失败
银行卡 {card} 麻烦核对一下
订单{order}用的卡是{card}，扣款两次
银行卡{card}收不到退款，预留手机{mobile}
身份证{id} 银行卡{card} 都是我本人的
邮箱{email}，发票发这里
电子发票请发到 {email}
我的邮箱是{email}，一直没收到邮件
{email} 这个邮箱能收到吗
email me at {email} please
Please send the invoice to {email}.
联系邮箱：{email}；电话：{mobile}
账号是{email}，登不上去了
邮件发到{email}吧，微信不常看
我手机是{mobile} 邮箱{email} 你看看哪个绑定了
my email {email} and phone {mobile}
contact me: {email} / {mobile}
把发票开给{name}，邮箱{email}
护照号{passport}，跨境购要填
我没有身份证，用护照{passport}可以吗
passport no. {passport}
海关要的护照号码：{passport}
我是外国人 passport number {fpassport}
My passport is {fpassport}, is that ok for customs?
护照 {fpassport}（美国护照）
我的护照号码是{fpassport}，国籍美国
港澳通行证{hkpermit}能用来实名吗
护照{passport}，姓名{name}，要清关
我的车牌{plate}，停车券怎么用
车牌号{plate} 预约了上门安装
送到停车场，车是{plate}白色大众
{plate} 这辆车的ETC设备激活不了
车牌：{plate}，洗车卡绑定错了
plate number {plate}
车主{name}，车牌{plate}，手机{mobile}
{plate}的车主电话{mobile}
收货地址：{addr}
寄到{addr}，谢谢
地址改成{addr}可以吗
我家住{addr}，能送货上门吗
帮我改下地址 {addr} 之前写错了
{addr} 这个地址能送到吗
发货地址写的是{addr}，但我搬家了
送到{addr}，放门卫就行
公司地址{addr}，工作日收货
地址:{addr}收件人:{name}电话:{mobile}
{name}，{mobile}，{addr}
{name} {mobile} {addr}
收件人 {name} 手机 {mobile} 地址 {addr}
ship to {eaddr}
My address is {eaddr}.
Please deliver to {eaddr}, thanks
新地址{addr}，电话不变
能不能送到{addr}？那边有驿站
上次寄错了，应该寄{addr}
快递放{addr}门口就行
亲，地址{addr} 电话{mobile} 人{name}
收件信息：{name}/{mobile}/{addr}
改地址！！{addr}！！收件人{name}
退货寄回哪里？我这边是{addr}，电话{mobile}
我在{addr}，附近有自提点吗
快递给我放到{addr}的丰巢柜
名字{name}  电话{mobile}  地址{addr}
订单 {order}，收件人：{name}，电话：{mobile}，地址：{addr}
I live at {eaddr}
the delivery address should be {eaddr}, recipient {ename}
hi, pls change address to {eaddr}, name {ename}
孩子叫{name}，学校地址{addr}
我叫{name}，订单一直没发货
你好我是{name}，想问下退货的事
收件人{name}，麻烦改一下
收货人写的{name}，是我妈
联系人：{name}
姓名：{name} 电话：{mobile}
请联系{sname}先生，他负责收货
到了找{sname}女士
持卡人{name}
my name is {ename}, order {order}
Hi, I'm {ename}. I haven't received my package
This is {ename}, I ordered a blender last week
Name: {ename}
Recipient: {ename}, phone {mobile}
寄件人{name}，退货单号{track}
本人{name}，申请退款
名字叫{name}，手机尾号{last4}
开户名{name}
帮我转告{sname}小姐一下，明天到货
联系{name}就行，他在家
取件人{name}，取件码{pickup}
我叫{name}，身份证{id}，手机{mobile}
I am {ename}, my email is {email}
老公名字{name}，用他的号码{mobile}下的单
收件人改为{name}
签收人不是我，是{name}
Dear support, {ename} here.
Mr. {esurname} will pick it up tomorrow
麻烦备注：送货前电话联系{mobile}，{sname}先生
{sname}女士 {mobile}
{mobile}（{name}）
麻烦把我的收货信息删掉：{name} {mobile}
新手机号 {mobile}，旧的 {mobile} 不用了
I'm {ename} and my card {card} was charged twice
请问{name}的订单到哪了？电话{mobile}
你好，帮我查一下{id}名下有没有会员
这是我朋友的号码{mobile}，他帮我收
老板我是{name} 上周买的空调 安装师傅电话{mobile}打不通
发票寄到{addr}，抬头写个人
快递单号{track}，收件人电话{mobile}
优惠码{coupon}用不了，我手机号{mobile}
我叫{name}，{date}买的洗衣机还没送
hello my name is {ename} and i need help with a refund
Ms. {esurname} ordered it for me
客户{name}，会员手机{mobile}
收件人：{name} 收件地址：{addr}
给{name}打电话{mobile}就能找到
邮箱打错了，是{email}不是之前那个
我的另一个手机{mobile}也可以联系
紧急联系人{name} {mobile}
手机:{mobile}/座机:{phone}
{addr}，{name}收，{mobile}
麻烦寄到我公司：{addr} 前台代收
我朋友{name}帮我下的单，他电话是{mobile}
身份证号码 {id} 姓名 {name}
I'm {ename}, order {order}, please call {mobile}
退货地址我写的是{addr}对吧
银行卡尾号不对，完整卡号{card}
我的邮箱 {email} 手机 {mobile} 身份证 {id}
联系人{name}，他的邮箱{email}
请把合同寄到{addr}，联系人{sname}先生，电话{phone}
司机说找不到{addr}，你们让他打{mobile}
"""

BENIGN_TEMPLATES = """
订单号{order}怎么还没发货？
我的订单{order}显示已签收，但我没收到
快递单号{track}，三天没更新了
{track} 这个物流到哪了
运单号：{track}
帮我查下订单{order}
商品编号{sku}还有货吗
SKU {sku} 的尺码偏大吗
货号{sku} 有没有黑色
优惠券码{coupon}提示无效
兑换码 {coupon} 怎么用
你们客服电话是{hotline}吗？打不通
我打了{hotline}，一直占线
售后热线 {hotline} 几点上班
价格{price}对吗？昨天还便宜
这件衣服{price}，能便宜点吗
我付了{price}，怎么显示{price}
{date}下的单，到现在还没到
{date}之前能送到吗？
{time}到{time}之间送货可以吗
买了{qty}件，只收到一件
订单{order}退了{qty}件，退款{price}还没到
退款{price}什么时候到账，订单号{order}
手机尾号{last4}的那个账号
银行卡尾号{last4}，退款到了吗
验证码{vcode}收到了但是登不上
取件码{pickup}，驿站说找不到
我是老客户了，能不能给个优惠
我叫了半天都没人理
联系不上快递员怎么办
收件人那栏怎么修改
从广东发货吗？到上海几天
上海市内能当日达吗
北京朝阳区有自提点吗
南京路店几点关门
仓库在杭州吗，发顺丰还是中通
I'm not happy with the service
I'm waiting for my refund for order {order}
This is the third time I contact you
My order {order} hasn't arrived yet
tracking number {track} shows delivered but I got nothing
coupon code {coupon} doesn't work
Is {price} the final price?
型号{model}和{model}有什么区别
发票税号{taxid}可以开专票吗
双11那天{date}买的
活动{date}到{date}，满{amount}减{amount}
我要退货，退货单号{track}
{order}这个订单能开发票吗
京东订单{jdorder}
拼多多订单编号{pddorder}
流水号{serial}，付款成功但订单显示未支付
交易单号{txn}
支付宝交易号{alitxn}
会员卡号{member}积分不对
发货时间是{date} {time}吗
重量{weight}kg，运费{price}
尺码选了{size}，身高{height}cm体重{weight}斤
屏幕尺寸{inch}寸，分辨率2560x1440
IMEI {imei} 保修查不到
序列号{sn}
第{qty}次催了
预计{date}送达？
充值{amount}元送{amount}元
发票号码{invoice}
尊敬的客服，订单{order}的赠品没收到
price went from {price} to {price}?
Call center {hotline} is always busy
I ordered on {date} at {time}
快递是{track}，寄件的时候写错了收件人
身份证还没带，能先下单吗
手机号能换绑吗？
银行卡退款要多久
我的邮箱收不到验证邮件
护照过期了还能清关吗
车牌识别不了，停车场出不去
地址写错了怎么改
我叫的外卖还没到
联系人写公司前台可以吗
版本号v{ver}更新后闪退
sku {sku} x{qty}, total {price}
邮编{zip}是哪里
{date}{time}的直播间券还能用吗
400电话打不通，{hotline}
客服热线{hotline}转人工
{short}是你们的吗
投诉电话12315
¥8408.72 这个价格包含运费吗
满{amount}减{amount}的券{coupon}
王者荣耀点券充值{amount}没到账
马上要用，能加急吗？{order}
谢谢 辛苦了
黄色的还有吗？{sku}
方便的话明天{time}送
周末能送货吗，周一要出差
李宁的鞋是正品吗
I'm in Shanghai, do you ship here?
This is urgent, order {order}
My name is on the order, can you check
订单{order}，运单{track}，两个都查不到
{order} {track} 麻烦看下
退款单号{serial}
发票代码{invoice} 发票号码{invoice}
手机号138****{last4}是我
身份证后四位{last4}
卡号后六位{vcode}
{price}买的，现在降到{price}了，能退差价吗
3号楼那个快递柜坏了
送货上门到几楼？我住{qty}楼
能寄到海南吗？
新疆西藏包邮吗
我在深圳市南山区，明天能到吗
商品链接里的{sku}和实物不一样
订单编号：{order}，申请退款
ordered {qty} items, sku {sku}, coupon {coupon}
hotline {hotline} keeps hanging up
跟踪号{track}
批次号{sku}生产日期{date}
保修卡编号{member}
张小泉剪刀是正品吗
王老吉有整箱的吗
收件人是我自己
我是学生，有优惠吗
我是新用户，第一次买
联系客服{hotline}说没有记录
I am writing about order {order}
{date}到{date}之间发货吗？
充电宝{inch}000mAh能带上飞机吗
工单号{serial}处理了吗
积分{amount}分怎么兑换
E{vcode}这个型号有吗
G{qty}高铁上能收快递吗
请问{jdorder}这单什么时候到
"""

# Written after the recognisers were tuned on "dev" and fixed once on "held": the "blind" split is the figure
# on phrasings nobody tuned for.
BLIND_PII_TEMPLATES = """
hello，麻烦尽快处理，我电话是{mobile}哈
我{mobile}，刚才那个客服说会回电的
😭😭快递一直不到 我的号{mobile}
请打{mobile}找{name}
收：{name} {mobile}
收件：{name}，tel：{mobile}
老地址不要了 现在是{addr}
帮我送{addr}，到了给我打电话
地址是{addr}吗？我怕写错
{addr}（{name} 收）
我的身份证是{id}，为什么实名不了😡
实名认证用的{id}，名字{name}
这是我老婆的身份证{id}
身份证号打错一位：{idbad}，能改吗
麻烦退到我的建行卡{card}
退款账户：{card}，{name}
visa card {card} got declined
发我邮箱吧 {email}
邮箱地址：{email}（请勿外传）
is my account {email} still active?
我护照号是{passport}，海淘需要吗
证件类型护照，号码{passport}
车牌号码是{plate}，帮我查一下违章代办
停车缴费 {plate} 扣了两次
my name's {ename}, can someone call me back on {mobile}
{ename} here, my parcel is missing
Regards, {ename}
我是{name}的家属，帮他问一下
名字：{name}，性别男，电话：{mobile}
顾客{name}，订单{order}
下单人{name}
帮{name}查下物流，{track}
{sname}总让我联系你们
请转告{sname}女士，{date}上门安装
快递写的{name}，但我叫{name}
座机打{phone}，手机打{mobile}
家里电话{phone}，白天没人
你们打这个{phone}吧
Address: {eaddr}
I moved to {eaddr}, please update
送货到{addr}，联系人{name}，{mobile}
{name}/{mobile}/{addr}/{date}前送到
身份证、银行卡都给你了：{id}、{card}
开发票用的邮箱{email}，抬头个人，姓名{name}
联系我微信{mobile}或者邮件{email}
电话号码{mobile}，号码没变
我的新手机：{mobile}
回电{mobile}，谢谢啦
亲 帮我备注一下 {name} {mobile}
寄送地址 {addr} 邮编{zip}
"""

BLIND_BENIGN_TEMPLATES = """
我的快递单号是{track}，怎么查不到
订单尾号{last4}的那个
帮我看看{order}这一单
{sku}这个颜色还有吗
{price}包邮吗？
优惠券{coupon}过期了吗
客服电话{hotline}是真的吗？
{date}{time}之前能发货吗
我买了{qty}箱，少了一箱
退货运单{track}已经寄出
订单编号{order}的发票开了吗
积分{amount}能抵多少钱
这个是{model}吗
{hotline}打过去说是空号
发货单号{track}对吗
我叫了你们三次了，没人回
我是不是买错了
收件人信息在哪里改
上海的仓库发货吗
广州天河区能自提吗
How long does shipping to Beijing take?
I'm so disappointed with this order
Is order {order} eligible for a refund?
tracking {track} stuck in customs
金额{price}，实付{price}
第二件半价吗
{date}签收的，现在还能退吗
快递柜取件码{pickup}
验证码是{vcode}吗
型号{sku}和{sku}哪个好
"""

TEMPLATE_REPEAT = 3  # lines drawn from each PII template
BENIGN_REPEAT = 2


def is_held(template: str) -> bool:
    return zlib.crc32(template.encode("utf-8")) % 10 < 3


SLOT = re.compile(r"\{(\w+)\}")


def render(template: str) -> tuple[str, list[list], list[str]]:
    text, spans, values, pos = "", [], [], 0
    for m in SLOT.finditer(template):
        text += template[pos : m.start()]
        slot = m.group(1)
        if slot in PII:
            kind, fn = PII[slot]
            value = fn()
            spans.append([len(text), len(text) + len(value), kind])
            values.append(value)
            text += value
        elif slot in BENIGN:
            text += BENIGN[slot]()
        else:
            raise KeyError(f"unknown slot {slot!r} in {template!r}")
        pos = m.end()
    text += template[pos:]
    return text, spans, values


def check(text: str, spans: list[list], values: list[str]) -> None:
    """Every span is exactly the generated value, spans do not overlap, and the checksums hold."""
    last = -1
    for (s, e, k), v in zip(spans, values, strict=True):
        assert 0 <= s < e <= len(text) and s >= last, (text, spans)
        assert text[s:e] == v == v.strip(), (text, s, e, v)
        last = e
        digits = re.sub(r"[^0-9Xx]", "", v.translate(HALFWIDTH)).upper()
        if k == "card":
            assert luhn_complete(digits[:-1]) == digits, v
        if k == "id" and len(digits) == 18:
            assert digits[:6] in REGIONS and 1900 < int(digits[6:10]) < 2010, v


HALFWIDTH = {ord(c) + 0xFEE0: c for c in "0123456789+-()Xx"}


def main() -> None:
    pii_t = [t for t in PII_TEMPLATES.strip().splitlines() if t.strip()]
    ben_t = [t for t in BENIGN_TEMPLATES.strip().splitlines() if t.strip()]
    assert len(set(pii_t)) == len(pii_t) and len(set(ben_t)) == len(ben_t)
    blind_p = [t for t in BLIND_PII_TEMPLATES.strip().splitlines() if t.strip()]
    blind_b = [t for t in BLIND_BENIGN_TEMPLATES.strip().splitlines() if t.strip()]
    assert not (set(blind_p + blind_b) & set(pii_t + ben_t))
    rows, seen = [], set()
    for templates, repeat, blind in (
        (pii_t, TEMPLATE_REPEAT, False),
        (ben_t, BENIGN_REPEAT, False),
        (blind_p, 2, True),
        (blind_b, 2, True),
    ):
        for t in templates:
            for _ in range(repeat):
                for _try in range(5):
                    text, spans, values = render(t)
                    if text not in seen:
                        break
                if text in seen:
                    continue
                seen.add(text)
                assert bool(spans) == (templates is pii_t or templates is blind_p), t
                check(text, spans, values)
                split = "blind" if blind else "held" if is_held(t) else "dev"
                rows.append({"text": text, "pii": spans, "split": split})
    rng.shuffle(rows)
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    benign = sum(1 for r in rows if not r["pii"])
    held = sum(1 for r in rows if r["split"] == "held")
    blind = sum(1 for r in rows if r["split"] == "blind")
    print(
        f"{len(rows)} lines ({benign} benign, {held} held out, {blind} blind) from {len(pii_t) + len(blind_p)} PII "
        f"and {len(ben_t) + len(blind_b)} benign templates -> {OUT}"
    )


if __name__ == "__main__":
    main()
