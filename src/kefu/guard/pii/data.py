"""The PII recognisers' word lists and tables: kinds and placeholders, ID region codes, the labels that make a
number personal or a look-alike, place names and address units, surnames and the words that are not names.
Only data: the recognisers that read it are `numbers.py`, `identifiers.py`, `addresses.py` and `names.py`."""

from __future__ import annotations

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
PRIORITY = {"email": 0, "id": 1, "card": 2, "mobile": 3, "phone": 4, "passport": 5, "plate": 6, "addr": 7, "name": 8}

# The first two digits of a mainland ID number: the province-level region.
ID_REGIONS = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)

# Labels before a number, by class ("neg": a look-alike such as 订单号; else the PII kind the label names), in
# the notation of `regex.words`: "stems + suffixes" lines and plain words.
LABEL_SPECS: tuple[tuple[str, str], ...] = (
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
)

# Characters that never occur in a place name in a chat message (particles, verbs around addresses such as
# 寄到 / 送到 / 住在, pronouns, labels), and a wider set that may not begin one (地, 家, 发, 成 ...: 成华区 is found
# after 成都市, not on its own). Known cities and provinces are matched through their list.
ADDR_STOP_STRONG = set(
    "在住到是寄送址往我你他她您它的了请帮改把给从吗呢吧啊呀哦嗯说收货电话手机号码邮箱这那个些哪么怎麻烦谢亲放递写填应该错对不没有"
    "附近时候先生女士小姐师傅老板客服用过下及或被让要想能会都也还就才又很太更最已刚噢喔哈嘿嗨好感恩"
)
ADDR_STOP = ADDR_STOP_STRONG | set("地家发为与成来回去件单订旧之次边每今昨早晚")

CITIES = (
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
PROVINCE_NAMES = (
    "河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 "
    "台湾 "
    "内蒙古 内蒙古自治区 广西 广西壮族自治区 西藏 西藏自治区 宁夏 宁夏回族自治区 新疆 新疆维吾尔自治区 香港 "
    "香港特别行政区 "
    "澳门 澳门特别行政区"
).split()
# The last characters of a place word, and what kind of part they make: P province, C city, D district,
# T town or village, R road, B compound or building.
SUFFIX_KIND = {
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
CN_NUM = "一二三四五六七八九十百零两"
PLACES = frozenset(CITIES) | frozenset(PROVINCE_NAMES)

SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章"
    "鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶"
    "解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫"
    "寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
SURNAMES_2 = (
    "欧阳 司马 诸葛 上官 慕容 东方 皇甫 司徒 令狐 夏侯 尉迟 公孙 长孙 宇文 轩辕 端木 南宫 独孤 西门 申屠 太史".split()
)
# Characters that do not occur in a given name here, so that "我叫张三想问一下" stops at 张三.
GIVEN_STOP = set(
    "的了是在我你他她想要问请帮买退换查改说就也还和跟给从到去来呢吗吧啊呀哦嗯电话手机号码地址收件人先生女士小姐身份证卡邮箱订单"
    "快递谢麻烦下这那个有没不已经才现今昨上周用能以会都很太吧嘛哈啦呗么什怎样哪里为因所但而且或者如果就是让把被对于等多少"
    "几点时候年日号发货到付款寄送取签代收填写错"
)
# Two-character words that begin with a surname but are not names.
NOT_NAMES = frozenset(
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
# Words after which a name follows (`regex.words` notation); the weak ones need a clean end after the name.
NAME_TRIGGER_SPEC = """
    收件|收货|联系|寄件|发件|取件|签收|提货|持卡|紧急联系|报案|下单|订购|购买|购货|投保|被保险|乘机|入住|预约 + 人
    孩子|儿子|女儿|老公|老婆|朋友|他|她 + 叫
    我|他|她 + 是
    我叫 我的名字是 我的名字叫 名字 名字是 名字叫 名叫 叫做 姓名 开户名 户名 本人 车主 客户 顾客 买家 会员
    是 联系 找 给 转告 朋友 老公 老婆 爸爸 妈妈 同事 帮 替 收件 收货 写的 写的是 填的 填的是
"""
WEAK_TRIGGERS = frozenset(
    "是 我是 他是 她是 找 给 联系 转告 朋友 老公 老婆 爸爸 妈妈 同事 客户 顾客 买家 会员 帮 替 收件 收货 "
    "写的 写的是 填的 填的是".split()
)

# English names are looked for only in text with one of these words.
EN_HINTS = (
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
EN_NOT_NAME = frozenset(
    "Not Very So Just Still Really Sorry Here In At On From A An The It Is And Or But Writing Looking Waiting Trying "
    "Going Calling Contacting Interested Unable Having Done Fine Ok Okay OK Glad Happy Angry Upset Confused "
    "Disappointed "
    "Urgent Shanghai Beijing China Your You We They Please Thanks Thank Hi Hello Dear Order Customer Refund Again Also "
    "Back Now Ready Able Sure New Being Trying Unhappy Frustrated Missing Available I My Me This That Chinese "
    "American British English Canadian Australian Japanese Korean German French Indian Student Teacher Member VIP "
    "Vip Owner Manager Boss Buyer Seller Mr Mrs Ms Miss Dr Great Good Awesome Amazing Terrible Bad Shop Store Team "
    "Support Service Sir Madam All Everyone Friend Brother Sister Mom Dad Wife Husband Today Tomorrow Yesterday".split()
)
