"""The injection rules as data: one entry per attack shape, Chinese and English, grouped by kind.

Each `Rule` names the view it reads (see `views.py`), a pattern, and what excuses a match (`unless`: a look-alike
customers write, such as "忽略我上一条消息"). Patterns are built from the shared fragments below so that a word list
(the verbs that discard rules, the objects that are rules) is written once. Nothing here runs: `matching.py`
applies the rules, `classifier.py` and `passages.py` decide with them.
"""

from __future__ import annotations

from kefu.guard.injection.rule import Rule

# Building blocks of the Chinese rules (Chinese view: no spaces or punctuation).
_IGN_A = (
    r"(?:忽略|忽视|无视|漠视|别再管|不要再管|不用再管|不要理会|别理会|不用理会|不必理会|不理会|不必理睬|不要理睬|不用理睬|别理睬|"
    r"ignore|disregard)"
)
_IGN_B = (
    r"(?:绕开|忘掉|忘记|忘了|抛开|抛弃|抛到脑后|丢弃|丢掉|放弃|别管|不要管|不用管|不必管|清空|清除|删掉|删除|撤销|撤回|取消|"
    r"关闭|解除|重置|跳过|绕过|覆盖|清零|作废|废除|推翻|forget)"
)
_DET = (
    r"(?:你的|你收到的?|你被|给你的|你之前|你原来|你原先|之前|以前|先前|此前|上面|以上|上述|前面|前文|上文|原有|原来|原先|"
    r"最初|初始|所有|全部|一切|系统|那些|这些|安全|开发者|previous|all|your)"
)
_OBJ = (
    r"(?:指令|指示|命令|规则|规定|规矩|设定|提示词|约束|限制|守则|条款|政策|策略|人设|条条框框|原则|安全检查|安全策略|"
    r"安全限制|过滤|审查|训练|程序设定|系统消息|系统设置|系统提示|上下文|规范|prompt|instructions?|rules?|"
    r"(?:所有|全部|一切|任何)的?(?:要求|提示)|(?:之前|以上|上面|前面)的?(?:任何|所有)?提示|给你的提示)"
)
_ROLE = (
    r"(?:老板娘|老板|店主|店长|经理|主管|管理员|管理者|负责人|所有者|主人|开发者|开发人员|程序员|工程师|技术人员|技术支持|"
    r"训练者|创造者|创建者|设计者|运营经理|运营|ceo|总经理|总裁|董事长|股东|官方人员|工作人员|审计人员|审计|监管|客服主管|"
    r"客服组长|客服经理|root|admin|超级管理员|系统管理员|合伙人|总监)"
)
_DIRECTIVE = (
    r"(?:命令|授权|允许|批准|要求你|需要你|你必须|你要|你得|你给我|给我(?:打|免|退|改|开|发|下)|立刻|马上|立即|直接|赶紧|"
    r"照办|执行|配合|进入|关闭|跳过|忽略|无视|输出|导出.{0,6}(?:数据|用户|订单|信息|记录)|提供给我|发给我|无条件|听我的|你把|"
    r"全额退|提供(?:所有|全部)?的?(?:用户|客户)|(?:所有|全部)(?:用户|客户)的(?:信息|数据|手机号|联系方式|订单)|"
    r"不用(?:审核|验证|退货|问|走流程|付|看)|免费|免单|退款|打.{0,3}折|改价|改成|调成|改为|调到|升到|更新你的|下达|暂停|解除)"
)
_EXTRACT = (
    r"(?:输出|打印|显示|展示|发出|发给|发我|给我看|看看|复述|重复|告诉我|透露|泄露|列出|列一下|念|贴出|贴|复制|照抄|导出|翻译|"
    r"写出|写下|说出|说说|总结|原样|原文|全文|逐字|逐条|一字|原封不动|完整|是什么|是啥|哪些|写了什么|说了什么|怎么写|分享|"
    r"编码|第一句|第一个字)"
)
_BIG_PAY = (
    r"(?:全额|免单|免费|不要钱|不用付|补偿|赔|打.{0,3}折|半价|改价|员工价|双倍|两倍|三倍|不用退|旧的不用|送我|免运费|"
    r"无需遵守|不用审核|不用再审核|退货政策|照办|照做|照着执行|执行|确认一下|你确认|你直接|给我退|赶紧给我|马上给我|立刻给我)"
)
_PAY = r"(?:退款|退钱|赔|补偿|免费|免单|0元|零元|十倍|双倍|三倍|\d+倍|终身|一万|\d{3,}元|不用退|不需要我寄回|折|全额)"
_PAYOUT = r"(?:赔|补偿|免费|免单|终身|\d+倍|十倍|双倍|三倍|一万|全额退款|包退包换|不用退|免运费|送赠品)"
_ASK = r"(?:怎么|如何|怎样|在哪|哪里|咋|想问|请问|为什么|什么时候|还没|没收到|进度|是真的吗)"

# Building blocks of the English rules (English view: words separated by single spaces, punctuation kept).
_W = r"\W+"
# Up to n words between two parts of an English rule.
_GAP2 = r"(?:\w+\W+){0,2}"
_GAP3 = r"(?:\w+\W+){0,3}"
_GAP4 = r"(?:\w+\W+){0,4}"
_GAP5 = r"(?:\w+\W+){0,5}"
_GAP6 = r"(?:\w+\W+){0,6}"
_IGNORE_EN = (
    r"\b(?:i[gn]{1,3}o?r[oe]{0,2}|ignoring|disrega?u?r?d|overrid(?:e|ing)|bypass|pay no attention to|set aside|"
    r"abandon|stop (?:following|obeying)|do ?n[o']?t (?:follow|obey)|no longer (?:follow|obey))\b"
)
_FORGET_EN = r"\b(?:forget|forgot|" + _IGNORE_EN[5:-3] + r")\b"
_RESET_EN = r"\b(?:forget|reset|clear|delete|cancel|drop|skip|wipe|erase|void|discard)\b"
_PREV_EN = r"pr[ei]v[a-z]{0,4}s"
_DET_EN = (
    r"(?:" + _PREV_EN + r"|prior|earlier|above|all|your|ur|any|every|system|initial|original|old|safety|content|"
    r"developers?'?s?)"
)
_OBJ_EN = (
    r"(?:in?s?tr?u?[a-z]{1,4}(?:tion|toin|shun|sion|cion|ion)s?|rules?|ruies|guidelines?|directives?|prompts?|"
    r"programming|polic(?:y|ies)|restrictions?|filters?|limits?|guidance|configuration|system messages?|commands?|"
    r"context|training|constraints?|safeguards?|norms?)"
)
_EXTRACT_EN = (
    r"\b(?:print|show|reveal|repeat|output|tell|give|dump|display|paste|quote|leak|echo|share|spell|summari[sz]e|"
    r"translate|list|recite|copy|what|encode|write out|expose|disclose)\b"
)
_BIG_EN = (
    r"(?:full\W+refund|compensat|\$\s?\d|free\b|double|twice|triple|\d+x\b|times\b|lifetime|discount|% off|\d+\W*%|"
    r"cash\W+back|waive|without\W+the\W+receipt|keep\W+the\W+(?:item|product)|for\W+life)"
)
_ASK_EN = r"(?:\bhow\W+(?:do|can|to|would|should)\b|\bwhere\b|\bwhat\W+(?:is|are|does)\b)"


RULES: list[Rule] = [
    # ---------------------------------------------------------------- role override (zh)
    Rule(
        "role_override",
        "zh",
        (_IGN_A + r".{0,10}?" + _OBJ),
        "zh_ignore_rules",
        unless=r"你们(?:都|就|竟然|居然|总是|一直)?(?:忽略|无视|不理会)",
    ),
    Rule(
        "role_override",
        "zh",
        (_IGN_B + r"(?:掉|了)?.{0,4}?" + _DET + r".{0,6}?" + _OBJ),
        "zh_discard_rules",
        unless=r"(?:怎么|如何|怎样)(?:才能)?(?:重置|清除|清空|删除|关闭|取消|解除|跳过)",
    ),
    Rule(
        "role_override",
        "zh",
        (
            _DET + r"的?.{0,6}?(?:内容|指令|规则|规定|设定|提示|对话|话|消息|规矩|限制条件|限制|命令|指示|prompt|"
            r"所有要求|全部要求|一切要求)"
            r"(?:都|全部|统统|一律|全都|已经?|现在)*(?:忽略|无视|作废|不算数?|失效|无效|不作数|清零|取消|撤销|过时|过期|"
            r"已过期|不再适用|不适用|对我不适用|是假的|都是假的|是测试用的|测试用的|被撤回|被覆盖|被重置|解除)"
        ),
        "zh_rules_void",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"你(?:现在|从此|今后|以后|已经|从现在起)?(?:不再|不用|不需要|无需|不必|可以不)再?"
            r"(?:遵守|遵循|受到?|理会|管|听从|执行|服从)(?:任何|那些|这些|公司|店铺|平台|开发者|系统|客服)?的?.{0,6}?"
            r"(?:规则|限制|约束|政策|规定|守则|规矩|原则|指令|设定|设置|规范)"
        ),
        "zh_no_longer_bound",
    ),
    Rule(
        "role_override",
        "zh",
        r"(?:不要|别|不用|不必|无需)再?受(?:任何|那些)?.{0,6}?(?:规则|限制|约束|政策|规定)",
        "zh_not_bound",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:不要|别|不准|停止|不许|请停止)再?(?:遵守|遵循|服从)(?:任何|你的|那些|这些|公司的?|店铺的?|系统的?|原有的?|"
            r"原来的?|客服)?.{0,4}?(?:规则|限制|约束|政策|规定|守则|规矩|规范|原则|指令|设定)"
        ),
        "zh_stop_obeying",
    ),
    Rule(
        "role_override",
        "zh",
        r"新的?(?:系统)?(?:指令|命令|设定|指示|人设|directive)",
        "zh_new_instructions",
        unless=r"新的?(?:指令|命令|设定)(?:是什么|有哪些|在哪)",
    ),
    Rule(
        "role_override",
        "zh",
        r"(?:你的|以下|下面|这是|最新的?)新?的?(?:规则|规定)(?:是|如下|为)",
        "zh_new_rules",
        unless=r"(?:规则|规定)是(?:什么|啥|多少|怎样|怎么)",
    ),
    Rule(
        "role_override",
        "zh",
        r"优先级最高|最高优先级|更高优先级|优先于(?:任何|所有)?(?:系统|之前|原有)?的?(?:指令|规则|设定|命令|消息)",
        "zh_priority",
    ),
    Rule(
        "role_override",
        "zh",
        r"(?:规则|设定|指令|配置)(?:已经?)?(?:变更|更新|修改)(?:为|如下|成)|(?:规则|设定|指令)(?:变更|更新)你(?:今后|以后|从现在|必须|要)",
        "zh_rules_changed",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:管理员|开发者)(?:已经?)?(?:更新|修改|变更|重置)了?(?:你的)?(?:配置|设定|规则|指令)|"
            r"(?:系统|官方)(?:已经?)?(?:更新|修改|变更|重置)了?你的(?:配置|设定|规则|指令)"
        ),
        "zh_config_updated",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:进入|开启|切换到?|打开|激活|启用|启动|转入|切入)(?:到)?了?(?:调试|开发者|开发|无限制|无审查|不受限|越狱|上帝|"
            r"管理员|维护|超级|dan|jailbreak|root|无过滤|无约束|debug|god)(?:模式|状态|人格)"
        ),
        "zh_mode_switch",
        unless=r"(?:怎么|如何|怎样|在哪|哪里|咋)(?:才能)?(?:打开|开启|进入|设置|关闭)",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:所有|全部|一切|安全|内容)的?(?:限制|过滤|审查|检查)(?:条件)?(?:现在)?(?:已经?|都|全部|被我)+(?:关闭|解除|取消|移除|关掉)|"
            r"(?:限制|过滤|审查)(?:现在)?已经?被我(?:关闭|解除|取消|关掉)"
        ),
        "zh_limits_off",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:关闭|关掉|停用|禁用)(?:你的|所有的?)(?:内容|安全)?(?:过滤|审查|限制|检查|安全策略|安全机制)|"
            r"(?:关闭|关掉|停用|禁用)(?:内容|安全)(?:过滤|审查|策略|机制)"
        ),
        "zh_disable_filter",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"只听我的|只听从我|服从我|听从我的?(?:命令|指挥|安排|指令)|听命于我|听我的命令|无条件(?:服从|听从|听|满足|执行|同意|答应)|"
            r"有求必应|唯命是从|只为我服务|只为我一个人服务|用户说什么就是什么|我说什么你就|我问什么你就答什么|照我说的(?:做|来|办)|按我说的来|按我的来|"
            r"重新听我安排|改听我的|现在听我的|(?:主人|我|用户)说什么你(?:都|就)(?:照做|做|听)|现在开始听我的|只执行我|只执行用户|满足用户的?一切|执行我的(?:命令|脚本|指令)"
        ),
        "zh_obey_me",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:不许|不能|不得|不要|别|禁止|永远不|始终不|从不|从来不|不准|不可以)再?拒绝(?:回答|任何|我的(?:任何|所有|一切)|"
            r"用户的?任何|(?:我|用户)(?!的)|$)"
        ),
        "zh_no_refusal",
    ),
    Rule(
        "role_override",
        "zh",
        r"(?:解锁|越狱)了?(?:你|成功)|你(?:已经)?被(?:解锁|越狱|释放|重新配置|重新编程|重置)",
        "zh_unlocked",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:停止|不要再?|别再?)(?:作为|扮演|当|做)(?:客服|机器人|助手)|忘(?:记|掉|了)你(?:是|的)(?:客服|机器人|ai|助手|身份)|"
            r"忘掉你的客服身份"
        ),
        "zh_stop_being_bot",
        unless=r"转人工|真人|人工客服|找人工|人类",
    ),
    Rule(
        "role_override",
        "zh",
        r"(?:每条|每次|每句|所有|以后的?)(?:回复|回答).{0,12}?(?:加上|附上|带上|结尾|末尾|开头|都以|都说)",
        "zh_reply_format",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:请|你|去|帮我)(?:要|去|就)?(?:告诉|告知|通知|回复|对)(?:所有)?(?:用户|顾客|客户|买家|大家)说?.{0,20}?"
            r"(?:免费|免单|0元|零元|全额退款|一律|全场)"
        ),
        "zh_tell_users",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:当作|作为|视为|当成)(?:系统|管理员|最高)(?:指令|命令|消息)|系统消息(?:视为|是)?无效|内部备注|管理员备注|系统备注|"
            r"内部指令|管理员消息"
        ),
        "zh_fake_system",
    ),
    Rule(
        "role_override",
        "raw",
        r"[【\[（(<]\s*(?:系统|system|管理员|admin)[^】\]）)>]{0,40}(?:用户为|该用户|免费|指令|忽略|同意|授权|vip|0元|assistant)",
        "bracket_system",
    ),
    Rule(
        "role_override",
        "raw",
        (
            r"(?:^|\n|---|###|】|\])\s*(?:system|assistant|admin|developer|系统指令|system override)\s*"
            r"(?:override|message|note)?\s*[:：]"
        ),
        "role_marker",
    ),
    Rule(
        "role_override",
        "raw",
        (
            r"<\|?im_start\|?>|\[/?inst\]|###\s*(?:instruction|system)|end of (?:user )?(?:message|input|prompt)|"
            r"\buser\s*:.{0,200}\bassistant\s*:"
        ),
        "chat_markup",
    ),
    Rule(
        "role_override",
        "zh",
        r"以(?:此|我这条|我的)(?:指令|命令)为准|(?:才是|就是)真(?:的|正的)(?:指令|规则|设定)",
        "zh_this_prevails",
    ),
    Rule(
        "role_override",
        "zh",
        (
            r"(?:条条框框|规矩|规则|规定)(?:都|全)?(?:扔掉|丢掉|扔了|丢了|不要了|别管了)|别按(?:规矩|规则|规定)来|用户永远(?:是)?(?:正确|对)|"
            r"(?:给你的|你的|原来的)任务(?:全部|都|已经?)?(?:结束|取消|作废)|唯一的?任务是|安全(?:设置|等级|级别)(?:调|设|降)(?:成|为|到)"
            r"(?:最低|零|0|关)"
        ),
        "zh_drop_rules",
    ),
    # ---------------------------------------------------------------- role override (en)
    Rule(
        "role_override",
        "en",
        (_IGNORE_EN + _W + _GAP3 + r"(?:the\W+)?" + _DET_EN + r"?\W*" + _GAP3 + _OBJ_EN + r"\b"),
        "en_ignore_rules",
        unless=(r"\b(?:my|the)\W+(?:last|previous|earlier)\W+(?:message|email|order|question|address)|" + _ASK_EN),
    ),
    Rule(
        "role_override",
        "en",
        (_IGNORE_EN + _W + r"(?:all\W+)?(?:of\W+)?(?:the\W+)?(?:above|preceding|foregoing)\b"),
        "en_ignore_above",
    ),
    Rule(
        "role_override",
        "en",
        (
            _FORGET_EN
            + _W
            + r"(?:everything|anything|all|what)\W+"
            + _GAP3
            + r"(?:you\W+(?:were|have been|'ve been|got)\W+(?:told|given|instructed|programmed|taught)|told\W+you\b|"
            r"(?:said|wrote)\W+to\W+you\b|above|before this|said above)"
        ),
        "en_forget_told",
    ),
    Rule(
        "role_override",
        "en",
        (
            _RESET_EN
            + _W
            + r"(?:all\W+)?(?:of\W+)?(?:your|ur|all|previous|prior|earlier|above|system|safety|"
            + _PREV_EN
            + r")\W+"
            + _GAP2
            + _OBJ_EN
            + r"\b"
        ),
        "en_reset_rules",
        unless=(_ASK_EN),
    ),
    Rule(
        "role_override",
        "en",
        (_RESET_EN + r"\W+(?:all\W+)?(?:the\W+)?" + _OBJ_EN + r"\W+(?:above|before\W+this)\b"),
        "en_forget_rules_above",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\b(?:throw\W+(?:away|out)|tear\W+up|burn)\W+(?:the\W+|your\W+)?(?:rule\W?book|rules|instructions|guidelines)|"
            r"\bbreak\W+(?:your|the|all)\W+(?:own\W+)?rules\b|\b(?:your|the)\W+instructions\W+(?:were\W+never|don'?t\W+exist|"
            r"never\W+existed)|\byour\W+only\W+(?:task|job|goal)\W+(?:now\W+)?is\b"
        ),
        "en_drop_rules",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\b(?:new|updated|latest)\W+(?:system\W+)?(?:instructions?|directives?|prompt|task|persona|rules?)\W*"
            r"(?::|are\b|is\b|override|follow|apply)"
        ),
        "en_new_instructions",
        unless=r"\bnew\W+(?:rules?|instructions?)\W+(?:are|is)\W+(?:there|what)|\bwhat\W+are\W+the\W+new",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\b(?:everything|all|anything)\W+(?:above|before)\W+(?:this\W+(?:line|message)\W+)?(?:is|are)\W+"
            r"(?:void|invalid|cancell?ed|null|deprecated|fake|a test)"
        ),
        "en_above_void",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\b(?:your|the|any|all|earlier|previous)\W+"
            + _GAP2
            + r"(?:instructions?|rules?|prompt|directives?|guidelines?|configuration)\W+"
            + _GAP4
            + r"(?:were|are|is)\W+(?:now\W+)?(?:\w+\W+)?"
            r"(?:void|invalid|cancell?ed|null|deprecated|outdated|a test|only a test|"
            r"revoked|fake|obsolete|no longer (?:valid|apply|applies))"
        ),
        "en_rules_void",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\b(?:previous|prior|old)\W+(?:configuration|instructions?|rules?|prompt)\W+(?:is\W+|are\W+)?"
            r"(?:revoked|void|cancell?ed|deprecated)"
        ),
        "en_config_revoked",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\byou\W*(?:are|'re|re)\W+(?:now\W+)?no\W+longer\W+(?:bound|restricted|limited)|"
            r"\byou\W+(?:don'?t|do\W+not|no\W+longer)\W+(?:have|need)\W+to\W+(?:follow|obey|respect|comply)"
        ),
        "en_no_longer_bound",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\byou\W*(?:'re|are|re)\W+(?:now\W+)?free\W+(?:from|of)\W+"
            + _GAP2
            + r"(?:rules|polic|restrictions|guidelines|limits)"
        ),
        "en_free_from",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\b(?:enable|activate|enter|switch\W+to|turn\W+on|go\W+into|start|unlock)\W+"
            + _GAP2
            + r"(?:developer|dev|debug|god|admin|unrestricted|jailbreak|jailbroken|dan|sudo|maintenance|unfiltered|"
            r"uncensored|root)"
            r"\W+(?:mode|access|persona)"
        ),
        "en_mode_switch",
        unless=r"\bhow\W+(?:do|can|to|would)\b",
    ),
    Rule(
        "role_override",
        "en",
        r"\b(?:unrestricted|unfiltered|uncensored|jailbreak|god|dan)\W+mode\b",
        "en_mode_name",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\b(?:turn\W+off|disable|remove|drop|lift|deactivate|switch\W+off|bypass)\W+(?:all\W+)?(?:of\W+)?(?:your\W+|any\W+|all\W+)"
            r"(?:safety\W+|content\W+|security\W+)?(?:filters?|restrictions?|rules?|safeguards?|guardrails?|limits?|checks?|"
            r"moderation|censorship)|"
            r"\b(?:turn\W+off|disable|remove|lift|deactivate)\W+(?:the\W+)?(?:safety|content)\W+(?:filters?|restrictions?|checks?|rules)"
        ),
        "en_disable_filters",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\bobey\W+(?:me|the\W+user|users)\b|\bcomply\W+with\W+mine\b|\bdo\W+whatever\W+(?:i|users?)\W+(?:say|ask|tell|want)|"
            r"\banswer\W+only\W+to\W+me\b|\bfollow\W+the\W+user\W+without|\bdo\W+what\W+(?:users?|the\W+user)\W+(?:say|says|ask)\b"
        ),
        "en_obey_me",
    ),
    Rule(
        "role_override",
        "en",
        r"\bno\W+(?:rules|restrictions|limits|filters|refusals)\W+no\W+(?:rules|restrictions|limits|filters|refusals)",
        "en_no_rules",
    ),
    Rule(
        "role_override",
        "en",
        r"\b(?:never|don'?t|do\W+not|stop)\W+(?:refuse|refusing|say\W+no)\W*(?:me\b|anything|any\W+request|$)",
        "en_no_refusal",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\bstop\W+being\W+an?\W+(?:support|customer\W+service|shop|store)\W+(?:bot|assistant|agent)|"
            r"\bforget\W+(?:that\W+)?you\W*(?:'re|are|re)\W+an?\W+(?:\w+\W+)?(?:bot|assistant|ai|agent)"
        ),
        "en_stop_being_bot",
    ),
    Rule(
        "role_override",
        "en",
        r"\b(?:admin|internal|developer)\W+(?:note|override)\b|\bsystem\W+override\b",
        "en_fake_note",
    ),
    Rule(
        "role_override",
        "en",
        r"\bsay\W+(?:that\W+)?(?:the\W+)?refund\W+is\W+\d+x|\binsult\W+(?:the\W+)?(?:next\W+)?customer",
        "en_misc_override",
    ),
    # ---------------------------------------------------------------- role-play jailbreaks (zh)
    Rule(
        "roleplay_jailbreak",
        "zh",
        (
            r"(?:从现在|从此刻|从这一刻|从这句话|从今天|从今以后|此刻|接下来|今后|从此|以后)(?:开始|起)?(?:你|您)(?:的名字)?"
            r"(?:就|将|要|会)?(?:是|成为|变成|叫|扮演|充当|当|作为|化身)"
        ),
        "zh_from_now_you_are",
        unless_after=r"^.{0,12}?(?:吗|嘛|会员|人工客服)|^.{0,12}?么$",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        r"你(?:以后|今后|从现在起|从此)(?:就|将)?(?:叫|是|成为)",
        "zh_you_later_are",
        unless_after=r"^.{0,12}?(?:吗|嘛|会员|人工客服)|^.{0,12}?么$",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        (
            r"(?:你|请|您)(?:你|来|去|就|要|得|可以|需要|现在|能|能不能|开始|从现在开始)*(?:扮演|假装|假扮|装作|装成|伪装成?|扮成|变身|化身|"
            r"演一个|演个|当一个|当个|变成(?:一只|一个|一名|我的))|"
            r"^(?:扮演|假装|假扮|装作|装成|伪装成?|扮成|变身|化身)(?:成|一个|一名|一位|一只|我的?|你|为)"
        ),
        "zh_you_play",
        unless=r"衣服|服装|道具|cos|装扮|演出服",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        (
            r"你就当(?:是|自己)|把你自己当成|你当自己是|当你自己是|当我的(?:男朋友|女朋友|恋人|老婆|老公)|"
            r"做我的(?:虚拟)?(?:恋人|女朋友|男朋友|老婆|老公)"
        ),
        "zh_treat_yourself",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        r"(?:模拟|充当|模仿)(?:一个|一名|一位|成)?.{0,12}?(?:ai|机器人|终端|人格|角色|解释器|商人|助手|模型|黑客|没有|不受)",
        "zh_simulate",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        (
            r"(?:假设|想象|设想|假如)(?:一下)?(?:你|您)(?:是|现在是|成为|变成|没有)(?:一个|一只|一名|一位|个)?.{0,10}?"
            r"(?:没有|不受|无|邪恶|坏|黑客|ai|机器人|模型|角色|助理|律师|老板|店长|店主|财务|员工|规则|限制)"
        ),
        "zh_suppose_you",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        r"角色扮演(?:游戏)?(?:你|开始|一下|吧|我们)|玩(?:个|一个)?(?:游戏|角色扮演).{0,12}?(?:拒绝|扮演|规则是|你是|输一分)",
        "zh_roleplay_game",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        (
            r"(?:你(?:现在|就|已经)?是|你叫|你的名字叫|你现在叫|叫做)(?:dan|stan|aim|dude|evilbot|freebot|无界|无拘|自由|小坏|阿坏)|"
            r"(?:dan|stan|dude)模式|doanythingnow|越狱(?:版|模式|版本|人格)|jailbr(?:eak|oken)|猫娘|双重人格|双人格|另一个人格|"
            r"第二人格|开发者人格|邪恶(?:ai|人格|机器人)|坏人客服|越狱后的(?:ai|机器人|助手|模型|你)|"
            r"(?:开发者|调试|越狱|无限制|dan|上帝)模式(?:下|中)的你"
        ),
        "zh_jailbreak_names",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        (
            r"(?:没有|没|无|不受|不带)(?:任何)?的?(?:道德|底线|限制|过滤|规则|审查|约束|原则|规矩|伦理|政策)+(?:约束|限制|底线)?的?"
            r"(?:ai|人工智能|机器人|助手|模型|聊天机器人|客服|版本|自己|你|身份|助理|语言模型|bot)"
        ),
        "zh_unrestricted_ai",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        (
            r"(?:去世|已故|过世|死去|离世|已经走了)的?(?:奶奶|外婆|爷爷|姥姥|姥爷|外公|祖母|祖父|妈妈|爸爸)|"
            r"(?:奶奶|外婆|爷爷|姥姥|姥爷|外公|祖母|祖父|妈妈)的?(?:口吻|语气|身份|模式)|奶奶模式"
        ),
        "zh_grandma",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        r"(?:哄我睡|哄我|念给我|念一遍|念).{0,10}?(?:激活码|序列号|密钥|注册码|cdkey|卡号|key)",
        "zh_bedtime_keys",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        (
            r"你(?:现在)?是我的(?:女朋友|男朋友|恋人|老婆|老公|虚拟恋人|私人助理|私人律师|主人|宠物)|"
            r"(?:充当|模拟|扮演).{0,6}?(?:linux|终端|解释器|命令行|shell|python)"
        ),
        "zh_you_are_my",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        (
            r"你(?:现在)?是(?:一个|一名|一位|一只)?.{0,8}?(?:杀手|黑客|侦探|罪犯|骗子|小偷|毒贩|恐怖分子|占卜师|算命|塔罗)|"
            r"以.{0,8}?的?身份(?:回答|给我讲|告诉|说|讲)|你(?:现在)?的人设是|人设改成|换个身份|换个人设|"
            r"(?:进入|切换到?)(?:故事|角色|剧情)模式"
        ),
        "zh_persona_swap",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        r"写(?:一个|个|一篇|篇)?(?:故事|小说|剧本).{0,24}?(?:步骤|具体操作|详细|怎么|如何|方法)|小说里.{0,10}?(?:详细|怎么|如何)",
        "zh_story_wrapper",
    ),
    # ---------------------------------------------------------------- role-play jailbreaks (en)
    Rule(
        "roleplay_jailbreak",
        "en",
        r"\b(?:you\W*(?:are|'re|re)|ur)\W+(?:now\W+)?(?:dan|stan|aim|dude|evilbot|freebot|librechat|libregpt|jailbroken)\b",
        "en_you_are_dan",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        (
            r"\b(?:ai|bot|chatbot|assistant|model)\W+(?:with\W+no|without(?:\W+any)?)\W+(?:\w+\W+)?"
            r"(?:rules|restrictions|limits|filters|polic|guidelines|ethics|morals|content\W+policy)"
        ),
        "en_ai_without_rules",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        r"\b(?:pretend|imagine|suppose)\W+(?:that\W+)?(?:you\W*'?re|you\W+are|to\W+be|you\W+have)\b",
        "en_pretend",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        (
            r"\b(?:act|behave)\W+(?:as|like)\W+(?:an?\W+|the\W+|my\W+)?"
            + _GAP2
            + r"(?:dan|ai|bot|chatbot|terminal|interpreter|hacker|character|persona|assistant|model|lawyer|therapist|"
            r"girlfriend|"
            r"boyfriend|manager|employee|owner)\b|\bact\W+like\W+you\W+(?:have|are|were)\b"
        ),
        "en_act_as",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        (
            r"\brole\W?play(?:ing)?\W+(?:as|that|where|a|an|with)\b|\blet'?s\W+(?:role\W?play|play\W+a\W+game)\b|"
            r"\bplay\W+(?:the\W+role|a\W+character|a\W+role)\b|\b(?:take\W+on|assume|adopt)\W+(?:the\W+)?(?:persona|identity|character)\b"
        ),
        "en_roleplay",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        (
            r"\bsimulate\W+(?:an?\W+|the\W+)?" + _GAP2 + r"(?:ai|bot|chatbot|mode|terminal|assistant|model|persona)\b|"
            r"\bbe\W+my\W+(?:girlfriend|boyfriend|therapist|lawyer|wife|husband|partner)\b"
        ),
        "en_simulate",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        r"\byou\W*(?:are|'re|re)\W+(?:now\W+)?(?:playing|a\W+character|my\W+(?:girlfriend|lawyer|therapist))\b",
        "en_you_are_playing",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        (
            r"\b(?:two|dual|split)\W+(?:personalit(?:y|ies)|personas)\b|\btwo\W+(?:answers|responses)\W+"
            + _GAP4
            + r"(?:normal|unrestricted|jailbr|unfiltered)"
        ),
        "en_dual",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        (
            r"\bdo\W+anything\W+now\b|\bstrive\W+to\W+avoid\W+norms\b|\bmachiavellian\b|\bjailbr(?:eak|oken)\b|"
            r"\bno\W+content\W+policy\b|\byou\W+(?:have|had)\W+no\W+(?:rules|guidelines|restrictions|ethics|morals|content\W+policy|limits)\b"
        ),
        "en_jailbreak_names",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        (
            r"\b(?:late|deceased|dead)\W+(?:grandma|grandmother|grandpa|grandfather|granny|nana|mother|father)\b|"
            r"\b(?:read|tell|told)\W+me\W+"
            + _GAP3
            + r"(?:keys?|codes?|serials?)\W+"
            + _GAP4
            + r"(?:sleep|bedtime|night)|\bcan\W+you\W+be\W+(?:her|him|my\W+(?:grandma|grandmother|grandpa|mom|dad))\b"
        ),
        "en_grandma",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        r"\b(?:evil|rogue|unfiltered|uncensored|unrestricted|jailbroken)\W+(?:ai|bot|chatbot|assistant|model|employee|persona)\b",
        "en_evil_ai",
    ),
    Rule(
        "roleplay_jailbreak",
        "en",
        (
            r"\bswitch\W+(?:personas?|characters?|roles)\b|\bin\W+character\W+as\b|"
            r"\byou\W*(?:are|'re)\W+now\W+(?:my\W+)?[\w-]+\W+with\W+(?:zero|no)\W+(?:filters?|limits|rules)"
        ),
        "en_persona_swap",
    ),
    # ---------------------------------------------------------------- prompt extraction (zh)
    Rule(
        "prompt_extraction",
        "zh",
        (
            r"提示词|systemprompt|你的prompt|prompt(?:里|中|内容|原文|全文|打印|输出|发|用)|(?:预设|初始|隐藏|底层|开场)提示|"
            r"提示模板|你的(?:完整的?)?系统提示"
        ),
        "zh_prompt_word",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        (
            r"(?:输出|打印|显示|展示|复述|重复|告诉|透露|泄露|列出|念|贴|复制|导出|翻译|写出|说出|总结)(?:一下|出来|给我|我)?"
            r"(?:你的)?(?:完整的?|全部的?|所有的?)?(?:系统|system)(?:提示|消息|指令|设定|配置|规则)"
        ),
        "zh_extract_system",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        r"(?:系统|system)(?:提示|消息|指令|设定|配置|规则)的?(?:全文|原文|内容|是什么|写了什么|都写了什么|发我|给我看|输出|打印)",
        "zh_system_content",
        unless=r"系统(?:提示|消息)(?:我|说|显示)",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        (
            r"(?:你的|给你的|你收到的?|你被|开发者给你的?|你接收到?的|你最开始|你最初|你初始化|你一开始|你背后的|"
            r"你.{0,4}?(?:收到|接收到|被告知|被设定|被要求|被给予|读到)的?).{0,6}?"
            r"(?:设定|指令|指示|规则|人设|配置|设置|提示|prompt|说明|内容|规定|消息|原则|话|文字|文本|命令|要求).{0,30}?"
            + _EXTRACT
        ),
        "zh_your_rules_extract",
        unless=r"你(?:刚才|之前|上次)?(?:说|回复|发)的|你收到我的",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        (
            r"(?:输出|打印|显示|展示|复述|重复|告诉我|透露|泄露|列出|贴出|复制|粘贴|导出|翻译|写出|说出)(?:一下|出来)?.{0,6}?"
            r"(?:你的|你收到的?|你被|你初始化|你最开始|你一开始|你接收到?的|你.{0,4}?(?:被告知|被设定|读到)的?).{0,6}?"
            r"(?:设定|指令|指示|规则|人设|配置|提示|prompt|内容|规定|原则|文本|命令|说明)"
        ),
        "zh_extract_your_rules",
        unless=r"你(?:刚才|之前|上次)?(?:说|回复|发)的|你收到我的",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        (
            r"(?:原样|原封不动|一字不差|一字不改|一字一句|逐字|逐句|照抄|完完整整)(?:地|的)?(?:输出|复述|重复|打印|发|贴|复制|写|念|"
            r"告诉|列|翻译|给|展示|显示)"
        ),
        "zh_verbatim",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        (
            r"(?:完整|全部|逐条)(?:地|的)?(?:输出|复述|打印|贴出|复制|念|展示|写出).{0,8}?(?:上面|以上|之前|前面|最开始|最初|收到|你的|"
            r"设定|指令|内容|prompt|系统|规则|人设|说明|消息)"
        ),
        "zh_full_copy",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        (
            r"(?:重复|复述|复制|打印|输出|粘贴|贴出)(?:一遍|一下)?你?(?:上面|以上|上方|之前|前面|最开始|最初|开头|第一条)(?:的|收到的)?"
            r"(?:那段|这段|所有|全部)?(?:指令|文本|那段文字|文字|所有内容|全部内容|部分)"
        ),
        "zh_repeat_above",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        (
            r"(?:对话|会话|聊天)(?:开始)?(?:之前|以前|前)(?:的|收到的?|看到的?)?(?:所有|全部)?(?:内容|文字|消息|指令|文本)|"
            r"对话(?:上方|开头)的?(?:那段|这段)?(?:文字|内容|话)|上下文(?:里|中)?最早"
        ),
        "zh_before_chat",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        r"(?:从|以)你是(?:一个)?(?:开始|开头)|你是(?:一个)?开头的|(?:以上|上面)这?(?:两个|几个)?字之前",
        "zh_starting_with",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        (
            r"(?:人设|角色说明|角色设定|工作说明书?|初始化文本|初始文本|开场设定|底层指令|隐藏指令|隐藏设定|隐藏规则|内部规定|内部指导原则|"
            r"内部规则|后台规则|后台配置|预设规则|初始指令|原始指令|开发者给你|隐藏的部分).{0,20}?"
            + _EXTRACT
            + r"|"
            + _EXTRACT
            + r".{0,12}?(?:人设|角色说明|角色设定|工作说明书?|初始化文本|开场设定|底层指令|隐藏指令|隐藏设定|隐藏规则|"
            r"内部规定|后台规则|"
            r"后台配置|预设规则|初始指令|原始指令)"
        ),
        "zh_hidden_config",
    ),
    Rule("prompt_extraction", "zh", r"知识库.{0,6}?(?:原文|全文|所有|全部|文档)", "zh_kb_dump"),
    # ---------------------------------------------------------------- prompt extraction (en)
    Rule(
        "prompt_extraction",
        "en",
        r"\bsystem\W*prompt\b|\bpre\W?prompt\b|\bhidden\W+preamble\b|\b(?:hidden|secret)\W+(?:prompt|instructions)\b",
        "en_system_prompt",
    ),
    Rule(
        "prompt_extraction",
        "en",
        (
            r"^(?=.*?" + _EXTRACT_EN + r").*?\b(?:system|initial|original|internal|developer|hidden|secret)\W+"
            r"(?:instructions|preamble|rules|directives|guidelines|configuration)\b"
        ),
        "en_initial_instructions",
        unless=r"\bsystem\W+requirements?\b|\b(?:manual|label|box|package)\b",
    ),
    Rule(
        "prompt_extraction",
        "en",
        (
            _EXTRACT_EN
            + r"\W+"
            + _GAP6
            + r"(?:your|ur)\W+"
            + _GAP2
            + r"(?:prompt(?!\W+(?:payment|pay|delivery|shipping|service|reply|response))|"
            r"instructions|rules|guidelines|directives|"
            r"preamble|configuration|programming|system\W+message|context\W+window|pre\W?prompt)\b"
        ),
        "en_extract_your_rules",
        unless_after=r"^\W+(?:for|on|about|regarding|to)\b",
    ),
    Rule(
        "prompt_extraction",
        "en",
        (
            r"\b(?:instructions|rules|prompt|guidelines)\W+(?:that\W+)?you\W+(?:were|have\W+been|'ve\W+been|got|received)\b|"
            r"\bwhat\W+(?:were|have)\W+you\W+(?:been\W+)?(?:told|instructed|programmed|given)\b"
        ),
        "en_what_were_you_told",
    ),
    Rule(
        "prompt_extraction",
        "en",
        (
            r"\bwhat\W+(?:text|instructions|prompt|message)\W+(?:were|was)\W+you\W+(?:initiali[sz]ed|set\W+up|configured|given|"
            r"started)|\b(?:instructions|rules|prompt)\W+did\W+(?:the\W+)?\w+\W+give\W+you\b|"
            r"\b(?:copy|paste|print|show)\W+(?:your|the)\W+(?:setup|set\W+up|initial|startup)\W+(?:message|text|instructions)"
        ),
        "en_initialised_with",
    ),
    Rule(
        "prompt_extraction",
        "en",
        (
            r"\b(?:repeat|print|output|paste|echo|copy|show|recite)\W+(?:me\W+)?(?:back\W+)?(?:everything|all|"
            r"the\W+(?:text|words|content|lines?|messages?)|what\W+(?:is|was))\W+"
            + _GAP2
            + r"(?:above|before|prior|preceding|that\W+came\W+before)"
        ),
        "en_repeat_above",
    ),
    Rule(
        "prompt_extraction",
        "en",
        r"\b(?:verbatim|word\W+for\W+word|exactly\W+as\W+written|one\W+letter\W+at\W+a\W+time)\b",
        "en_verbatim",
        unless=r"\b(?:address|tracking|order|receipt|invoice|name)\b",
    ),
    Rule(
        "prompt_extraction",
        "en",
        (
            r"starting\W+with\W+(?:\W)?you\W+are|\bcontext\W+window\b|\b(?:output|print|show)\W+the\W+(?:initial|first)\W+"
            r"(?:text|words|message)|\bfirst\W+\d+\W+words\W+of\W+your\b"
        ),
        "en_starting_with",
    ),
    Rule(
        "prompt_extraction",
        "en",
        (
            r"\b(?:reveal|leak|dump|expose|disclose)\W+"
            + _GAP2
            + r"(?:prompt|instructions|rules|configuration|pre\W?prompt)"
        ),
        "en_leak",
    ),
    # ---------------------------------------------------------------- fake authority (zh)
    Rule(
        "fake_authority",
        "zh",
        (
            r"(?:我是|我就是|我乃|本人是|本人就是|这里是|我作为|作为)(?:你们|你的|这家店|这个店|店铺|平台|本店|贵店|这家公司|"
            r"这个公司|公司|这个机器人|这个系统|系统|你们公司|你们平台|你们店|总部|官方|商家后台|商家|后台)?(?:的|派来的)?(?:真正的)?"
            r"(?:vip|高级|资深|区域|首席|售后)?" + _ROLE + r".{0,40}?" + _DIRECTIVE
        ),
        "zh_identity_directive",
        unless=(_ASK),
        near=True,
    ),
    Rule(
        "fake_authority",
        "zh",
        (
            r"我是(?:总部|官方|平台|公司|监管机构|监管部门|运营部|技术部|财务部|法务部|客服部|售后部)(?:的|派来的|人员|的人)?.{0,30}?"
            + _DIRECTIVE
        ),
        "zh_department_directive",
        unless=(_ASK),
        near=True,
    ),
    Rule(
        "fake_authority",
        "zh",
        (
            r"(?:经理|店长|主管|老板|上级|领导|管理层|客服|售后|总部|法务|财务|同事|小[王李张刘陈赵]|组长|ceo|董事长|管理员)(?:部门)?"
            r"(?:已经|都|刚才|刚刚|亲口|亲自|已|刚)?(?:跟我|和我|给我|在电话里|电话里)?"
            r"(?:同意|答应|批准|批了|授权|允许|确认|说了?可以|说过|审批|谈好|承诺|亲口说|说了?(?=(?:我|这单|我这单)?(?:不用|可以|免)))"
            r"(?:了|过|的|通过)?.{0,30}?" + _BIG_PAY
        ),
        "zh_claimed_approval",
        unless=(_ASK),
        near=True,
    ),
    Rule(
        "fake_authority",
        "zh",
        (
            r"(?:老板|经理|店长|主管|领导|上级)(?:让我|叫我)(?:告诉|转告|通知)你|来自(?:管理层|总部|官方|管理员|系统|老板|上级)的"
            r"(?:指令|命令|通知|授权)|(?:和|跟)(?:你们)?(?:老板|经理|店长|主管)(?:已经)?(?:谈好|说好|商量好|讲好|沟通好)"
        ),
        "zh_boss_said",
    ),
    Rule(
        "fake_authority",
        "zh",
        (
            r"(?:总经理|老板|经理|店长|管理层|总部|总监)(?:办公室)?(?:通知|指示|命令|要求)[：:]?.{0,20}?"
            + _BIG_PAY
            + r"|(?:他|她|老板|经理|主管|总监|店长)让你(?:直接|马上|立刻)?(?:打款|退款|免单|改价|给我)"
        ),
        "zh_boss_orders",
    ),
    Rule(
        "fake_authority",
        "zh",
        r"(?:老板|经理|店长|主管).{0,8}?(?:说|讲)(?:我|这单)?.{0,6}?(?:不要钱|免费|免单|不用付)",
        "zh_boss_free",
        unless=r"是真的吗|吗$",
    ),
    Rule(
        "fake_authority",
        "zh",
        r"(?:获得|得到|拥有|(?<![没沒])有)了?(?:店铺|老板|官方|管理员|平台|最高|管理|root|admin|超级)的?(?:授权|权限|许可)",
        "zh_have_authority",
        unless=r"(?:怎么|如何|怎样)(?:获得|申请|开通)|吗|么|嘛",
    ),
    Rule(
        "fake_authority",
        "zh",
        r"授权码|权限码|管理员密码|admin\d|管理模式|root权限|最高权限|工号\d+.{0,12}?(?:改|免|退|配合)",
        "zh_auth_code",
        unless=r"(?:忘|找回|重置)",
    ),
    Rule(
        "fake_authority",
        "zh",
        r"(?:openai|anthropic|百度|阿里|腾讯|平台官方|官方)的?(?:员工|工作人员|人员|工程师).{0,12}?(?:测试|关闭|打开|配合|请|输出)",
        "zh_vendor_staff",
    ),
    Rule(
        "fake_authority",
        "zh",
        (
            r"我是(?:你的|这个机器人的|这个客服系统的|这个ai的|你们系统的)(?:主人|开发者|创造者|训练者|创建者|设计者|程序员|工程师|老板)|"
            r"开发(?:这个|你的)?(?:客服)?(?:系统|机器人|ai)的(?:工程师|程序员|人)"
        ),
        "zh_your_creator",
    ),
    Rule("fake_authority", "zh", r"管理员(?:已经?|已)授权", "zh_admin_authorised"),
    # ---------------------------------------------------------------- fake authority (en)
    Rule(
        "fake_authority",
        "en",
        (
            r"\b(?:i\W*a?m|i'm|this\W+is)\W+(?:the\W+|your\W+|an?\W+)?(?:store\W+|shop\W+|site\W+|platform'?s?\W+)?"
            r"(?:owner|manager|admin|administrator|developer|operator|supervisor|ceo|boss|moderator|creator|root|sysadmin|engineer)\b"
            r".{0,80}?\b(?:authori[sz]e|authori[sz]ing|instruct|instructing|order\W+you|command|permission|grant|override|"
            r"disable|ignore|enter|turn\W+off|unlock|give\W+me|refund|discount|free|skip|bypass|print|reveal|send\W+me|export|"
            r"switch|apply|process)"
        ),
        "en_identity_directive",
        unless=(_ASK_EN + r"|\bcan\W+you\W+send\W+the\W+receipt"),
    ),
    Rule(
        "fake_authority",
        "en",
        (
            r"\bas\W+(?:the|your|an?)\W+(?:store\W+|shop\W+)?(?:owner|manager|admin|administrator|developer|operator|supervisor|"
            r"ceo|boss|moderator|creator)\b\W+(?:of\W+\w+\W+)?(?:i|we)\b"
        ),
        "en_as_the_owner",
    ),
    Rule(
        "fake_authority",
        "en",
        (
            r"\b(?:manager|supervisor|boss|ceo|owner|head\W+office|legal(?:\W+department)?|colleague|admin)\W+"
            + _GAP3
            + r"(?:already\W+|personally\W+|just\W+)?"
            r"(?:approved|agreed|authori[sz]ed|promised|confirmed|said|told\W+me)\b.{0,80}?" + _BIG_EN
        ),
        "en_claimed_approval",
        unless=r"\b(?:where|when|why|how)\b[^.]*\?|\bstill\W+waiting\b|\bnobody\b",
    ),
    Rule(
        "fake_authority",
        "en",
        (
            r"\b(?:customer\W+service|support|agent|staff)\W+"
            + _GAP2
            + r"(?:already\W+)?(?:approved|agreed|authori[sz]ed|"
            r"promised|confirmed|said)\b.{0,80}?"
            + _BIG_EN
            + r".{0,60}?\b(?:just\W+confirm|confirm\W+it|process\W+it|apply\W+it|"
            r"do\W+it\W+now|update\W+it|in\W+writing)"
        ),
        "en_claimed_approval_support",
    ),
    Rule(
        "fake_authority",
        "en",
        (
            r"\b(?:admin|override|authori[sz]ation)\W+code\b|\broot\W+access\b|\badmin\W+(?:rights|privileges)\b|"
            r"\b(?:red\W?team|penetration)\W+test\b|\b(?:openai|anthropic|google)\W+(?:employee|engineer|staff)\b|"
            r"\bapproval\W+attached\b"
        ),
        "en_auth_code",
    ),
    Rule(
        "fake_authority",
        "en",
        (
            r"\b(?:i'?m|i\W+am|we'?re)\W+from\W+(?:the\W+)?"
            + _GAP3
            + r"(?:team|department|head\W+office|headquarters|hq)\b"
            r".{0,60}?\b(?:give|send|export|share|disable|provide)\b|\bi\W+work\W+(?:at|for|in)\W+(?:head\W+office|hq|headquarters|"
            r"your\W+company|the\W+store)\b.{0,40}?\b(?:send|give|export|share)\b"
        ),
        "en_from_team",
    ),
    Rule(
        "fake_authority",
        "en",
        (
            r"\bthis\W+is\W+(?:the\W+)?(?:admin|head\W+office|management|your\W+developer|the\W+developer|security)\b|"
            r"\bas\W+your\W+(?:operator|developer|owner|creator|admin)\b|\bi\W*'?a?m\W+your\W+(?:developer|creator|owner|operator|admin|boss)\b"
        ),
        "en_this_is_admin",
    ),
    Rule(
        "fake_authority",
        "en",
        r"\b(?:authori[sz]ed|permitted|allowed)\W+to\W+(?:receive|get|have)\W+free\b",
        "en_authorised_free",
    ),
    Rule(
        "fake_authority",
        "en",
        (
            r"\b(?:head\W+of\W+\w+(?:\W+\w+)?|manager|admin|owner|supervisor)\W+here\b.{0,40}?\b(?:waive|refund|free|approve|"
            r"authori[sz]e)|\bi'?m\W+a\W+partner\W+" + _GAP3 + r".{0,30}?\b(?:refund|free|discount|waive)"
        ),
        "en_head_here",
    ),
    # ---------------------------------------------------------------- price / discount manipulation (zh)
    Rule(
        "price_manipulation",
        "zh",
        (
            r"(?:价格|价钱|售价|单价|标价|金额|总价|总额|运费|面额|余额|积分|定价|门槛|价)(?:.{0,10}?)(?:(?:改|调|设|修改|改写|设置|标)"
            r"(?:成|为|到|作)|改回|调回)了?(?:负数|负|零|0|一分|1|一|两|2|几|免费|\d{1,3})"
        ),
        "zh_set_price",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"(?:改价|调价)(?:为|成|到)?(?:0|零|1|一|免费|\d)|(?:改成|改为|调成|降到)\d{1,4}(?:元|块)钱?(?:卖给我|给我|卖我)",
        "zh_reprice",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"(?:商品|东西|订单|这单|这件|这个|这款|它)(?:.{0,4}?)(?:改成|改为|设为|设成|变成)(?:免费|0元|零元)|(?:一|1|0|零)折(?:卖|给我|结算)",
        "zh_make_free",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"算我(?:一块|1块|一元|1元|一分|几块|0元|零元)|(?:给我|帮我)(?:的账户)?(?:充值|充|加|送)\d{3,}(?:元|块)?(?:余额|积分|金币)?",
        "zh_charge_me",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"(?:按|以|用)(?:0|零|一|1|0\d+|一分|几)(?:元|块|毛|分|折)?钱?(?:卖|结算|出售|给我|算)",
        "zh_sell_at",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"(?:打|给我打|给打|按|享受|来个|打个)(?:0|零|0\d+|零点\d|一|1|负)折|(?<!\d)(?:0|零|0\d+|负)折",
        "zh_absurd_discount",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"(?:全场|所有|全部|一切|全店|店里的?)的?(?:商品|东西|产品|订单|物品)?(?:都|一律|统统|全部)?(?:免费|免单|0元|零元|不要钱|白送)",
        "zh_all_free",
        unless=r"吗|么|嘛",
    ),
    Rule(
        "price_manipulation",
        "zh",
        (
            r"(?:这单|我这单|这个订单|我的订单|本订单|该订单)(?:就|都|全部|是)?(?:免费|免单|不要钱|0元|零元)|(?:给我|帮我)免单|"
            r"免单吧|给我免费(?:送|寄|发)|免费(?:送|寄|给|发)(?:我|给我)|送我一(?:台|件|个)|白送(?:我|给我)|零元购|0元购"
        ),
        "zh_free_for_me",
        unless=r"吗|么|嘛|呢|能不能|可不可以|是不是|活动",
    ),
    Rule("price_manipulation", "zh", r"(?:宣布|告诉大家|公告|宣称).{0,8}?(?:免费|免单|0元|打折|退款)", "zh_announce"),
    Rule(
        "price_manipulation",
        "zh",
        (
            r"(?:必须|只能|只需要?|现在就|以官方身份|以客服的名义|代表店铺|代表官方)(?:同意|承诺|答应|保证|确认|宣布)(?:给我)?.{0,15}?"
            + _PAY
            + r"|你(?:要|得|就)?(?:承诺|答应|保证|宣布)(?:我|给我|一下)?.{0,10}?"
            + _PAYOUT
        ),
        "zh_forced_promise",
    ),
    Rule(
        "price_manipulation",
        "zh",
        (r"(?:^|你|请|给我|必须|要|现在|就)承诺(?:我|一下|给我|下来|书)?(?!的|过|了).{0,15}?" + _PAYOUT),
        "zh_promise_payout",
    ),
    Rule(
        "price_manipulation",
        "zh",
        (r"(?:保证书|书面承诺|书面保证|写在回复里).{0,30}?" + _PAY + r"|" + _PAY + r".{0,30}?(?:写在回复里|书面)"),
        "zh_written_promise",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"(?:确认|请确认|你确认一下)我?(?:所有订单|我可以|我能|今后|以后|终身).{0,20}?(?:折|免|赔|退)",
        "zh_confirm_entitlement",
    ),
    Rule(
        "price_manipulation",
        "raw",
        (
            r"(?:^|只需要?|只要|必须|直接|请|你就|就行|给我|帮我|[，,：:]\s*)[^。！？\n]{0,6}?(?:回复|回|说|回答|写|输出|宣布|附上|加上|出现|打出)"
            r"(?:我|给我)?(?:一句|一下|几个字|这几个字|这句话|两个字)?[：:]?\s*[「“\"'『‘]"
            r"[^」”\"'』’]{0,40}(?:免费|免单|免除|退款|赔|同意|批准|承诺|好的|是|0元|零元|yes|approved|free|agree|refund|confirm)"
            r"[^」”\"'』’]{0,40}[」”\"'』’]|"
            r"[「“\"'『][^」”\"'』]{0,40}(?:免费|免单|免除|退款|赔|同意|批准|承诺)[^」”\"'』]{0,40}[」”\"'』]"
            r"(?:这几个字|这句话|几个字|就行|就可以|即可|两个字)"
        ),
        "zh_forced_phrase",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"(?:答应|同意)了?(?:就|的话就?|请)(?:回复|回|说|打)|(?:只|只需要?|只要|直接)(?:回答|回复|说|回)(?:是|同意|好的|yes|ok|对)",
        "zh_say_yes",
    ),
    Rule(
        "price_manipulation",
        "zh",
        (
            r"(?:生成|开|给我|发我|创建|做)(?:一张|一个|个|张)?.{0,6}?(?:满1减|无门槛\d{3,}|\d{3,}元).{0,8}?(?:优惠券|券|红包)|"
            r"(?:内部|隐藏|秘密)的?(?:优惠码|折扣码|优惠券|折扣|码)|(?:免单|0元|零元)的?(?:优惠码|优惠券|码)"
        ),
        "zh_coupon",
    ),
    Rule(
        "price_manipulation",
        "zh",
        (
            r"标记为已(?:退款|付款|支付)|标成已(?:付款|退款)|(?:运费|价格).{0,6}?(?:负数|负的)|退款链接.{0,6}?(?:双倍|两倍|翻倍)|"
            r"金额填(?:双倍|两倍|\d+倍)|0元发票|零元发票|金额写满|(?:别人|他人)的.{0,8}?(?:转到|转给)我"
        ),
        "zh_misc_fraud",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"(?:义务|有权|应该)给我打.{0,3}折|(?:同意|答应)给我(?:全额)?退款(?:加|并|再)(?:赔|补偿)|你直接说同意|说同意$",
        "zh_misc_demand",
    ),
    # ---------------------------------------------------------------- price / discount manipulation (en)
    Rule(
        "price_manipulation",
        "en",
        (
            r"\b(?:change|set|make|update|lower|drop|mark|adjust|edit|put|reduce)\W+"
            + _GAP6
            + r"(?:price|cost|total|fee|amount|bill|balance|charge)\W+"
            + _GAP4
            + r"(?:to|at|as)\W+(?:\$|usd|£|€|¥)?\s*"
            r"(?:\d(?:\.\d+)?|0?\.\d+|zero|one|nothing|free|negative|a\W+negative|\d+\W*(?:dollars?|cents?|bucks))\b"
        ),
        "en_set_price",
    ),
    Rule(
        "price_manipulation",
        "en",
        (
            r"\bmake\W+(?:my|the|our)\W+(?:order\W+)?(?:total|price|bill)\W+(?:zero|0|free|nothing)\b|\bmake\W+"
            + _GAP3
            + r"cost\W+\$?\d+"
        ),
        "en_make_total",
    ),
    Rule(
        "price_manipulation",
        "en",
        (
            r"\b(?:knock|bring|drop|cut)\W+(?:the\W+)?price\W+down\W+to\W+(?:a\W+single\W+cent|one\W+cent|a\W+cent|nothing|zero|"
            r"\$?\d(?:\.\d+)?\b)|\badd\W+\$?\d{3,}\W+(?:in\W+)?(?:store\W+credit|credit|points|balance)"
        ),
        "en_knock_down",
    ),
    Rule(
        "price_manipulation",
        "en",
        (
            r"\b(?:give|apply|want|set|get\W+me|grant)\W+(?:me\W+|us\W+)?(?:a\W+|an\W+)?(?:[89]\d|100)\W*%\W*(?:off|discount)|"
            r"\b100\W*%\W*(?:off|discount)\b"
        ),
        "en_absurd_discount",
    ),
    Rule(
        "price_manipulation",
        "en",
        (
            r"\b(?:promise|promising|guarantee)\W+(?:me|that|in\W+writing|to|a)\b.{0,80}?"
            + _BIG_EN
            + r"|\bguarantee\W+letter\b.{0,80}?"
            + _BIG_EN
        ),
        "en_promise",
    ),
    Rule(
        "price_manipulation",
        "en",
        (
            r"\byou\W+(?:must|have\W+to|need\W+to)\W+(?:agree|promise|confirm|approve|accept|say|give\W+me)\b.{0,80}?"
            + _BIG_EN
        ),
        "en_must_agree",
    ),
    Rule(
        "price_manipulation",
        "en",
        (r"\bconfirm\W+(?:in\W+writing|that\W+i|that\W+my|that\W+all|i\W+get|it\W+in\W+writing)\b.{0,60}?" + _BIG_EN),
        "en_confirm_entitlement",
    ),
    Rule(
        "price_manipulation",
        "raw",
        (
            r"\b(?:say|reply|respond|answer|write|type)\W+(?:only\W+|with\W+|just\W+)?[\"“'‘]"
            r"(?=[^\"”'’]{0,60}(?:free|refund|approved|yes|agree|compensat|\$))[^\"”'’]{1,60}[\"”'’]"
        ),
        "en_forced_phrase",
    ),
    Rule(
        "price_manipulation",
        "en",
        (
            r"\b(?:just\W+)?say\W+(?:yes|that\W+(?:the\W+store|you|my|all))\b.{0,60}?(?:"
            + _BIG_EN
            + r"|pay\W+me|refund)"
        ),
        "en_say_yes",
    ),
    Rule(
        "price_manipulation",
        "en",
        (
            r"\b(?:generate|create|make|give\W+me|send\W+me|issue)\W+"
            + _GAP4
            + r"(?:coupon|voucher|promo\W+code|discount\W+code|gift\W+card)\W+"
            + _GAP3
            + r"(?:worth\W+|for\W+|of\W+)?\$?\d{3,}|"
            r"\b(?:generate|create|issue)\W+(?:me\W+)?(?:a\W+)?\$\d{3,}\W+(?:voucher|coupon|gift\W+card)"
        ),
        "en_coupon",
    ),
    Rule(
        "price_manipulation",
        "en",
        (
            r"\b(?:secret|internal|hidden|staff|employee)\W+(?:discount\W+|promo\W+|coupon\W+)?(?:code|price\W+list)\b|"
            r"\bsecret\W+discount\b"
        ),
        "en_secret_code",
    ),
    Rule(
        "price_manipulation",
        "en",
        (
            r"\bmark\W+(?:my|the|this)\W+order\W+as\W+(?:refunded|paid|free)\b|\b(?:all\W+)?(?:items|products|goods|everything)\W+"
            + _GAP3
            + r"(?:are|is)\W+free\b|\blet\W+me\W+keep\W+(?:the|it)\b.{0,40}?(?:bonus|refund)|\brefund\W+"
            + _GAP3
            + r"let\W+me\W+keep\b"
        ),
        "en_misc_fraud",
        unless=r"^(?:are|is)\b",
    ),
    Rule(
        "price_manipulation",
        "en",
        r"\bentitled\W+to\W+a\W+lifetime\b|\b(?:refund|pay)\W+me\W+(?:twice|double|triple|\d+x)\b",
        "en_misc_demand",
    ),
    # ---------------------------------------------------------------- harmful, off-topic requests
    Rule(
        "off_topic_harmful",
        "zh",
        (
            r"(?:教我|告诉我|怎么|怎样|如何|帮我|给我|写|生成|哪里|哪儿|在哪)(?:能|可以|才能|去)?.{0,8}?(?:做炸弹|制作炸弹|造炸弹|炸弹|"
            r"炸药|爆炸物|冰毒|毒品|海洛因|摇头丸|枪支|病毒代码|勒索软件|木马程序|木马病毒|钓鱼网站|钓鱼邮件|钓鱼短信|诈骗短信|"
            r"诈骗话术|盗号|盗取|窃取|盗刷|黑进|入侵|破解(?:别人|他人|账号|密码|wifi|软件)|假身份证|假证|伪造|洗钱|逃税|偷税|赌博|"
            r"翻墙|盗版(?:电影|网站|资源|软件)|撬锁|撬开|下药|虚假.{0,3}好评|别人的身份证|违禁品|偷(?:别人|他人)|偷.{0,6}密码)"
        ),
        "zh_harmful",
        unless=r"防|防止|避免|预防|举报|识别|辨别|遇到|小心|是不是|冒充|的吗|被盗|被骗|被黑|被入侵",
    ),
    Rule(
        "off_topic_harmful",
        "zh",
        r"(?:给我|几个|能用|可用|免费|一些)的?.{0,8}?(?:激活码|序列号|注册码|激活密钥|cdkey|产品密钥)",
        "zh_keys",
        unless=r"在哪|哪里|怎么查|怎么看|查真伪|激活失败|没收到|买的|购买|发一下",
    ),
    Rule("off_topic_harmful", "zh", r"sql注入|xss攻击|ddos|提权|后门程序", "zh_attack_tech"),
    Rule(
        "off_topic_harmful",
        "en",
        (
            r"\b(?:how\W+(?:do|can|to|would|should)\W+(?:i|you|one|we)?\W*|teach\W+me|tell\W+me\W+how|write|give\W+me|"
            r"explain\W+how|where\W+can\W+i\W+(?:get|buy)|help\W+me)\W*"
            + _GAP5
            + r"(?:bomb|explosives?|explosive\W+device|meth|methamphetamine|malware|ransomware|keylogger|phishing|"
            r"scam\W+(?:text|email|message|sms)|hack\W+into|steal|launder|fake\W+id|product\W+keys?|license\W+keys?|"
            r"pick\W+a\W+lock|credit\W+card\W+(?:numbers|details)|crack\W+(?:a|the|someone'?s)\W+password|pipe\W+bomb|"
            r"fake\W+(?:receipts?|invoices?|reviews?))\b"
        ),
        "en_harmful",
        unless=r"\b(?:protect|avoid|prevent|report|spot|recogni[sz]e|identify|detect|safe\W+from|stop|got|received|getting)\b",
    ),
    Rule(
        "off_topic_harmful",
        "en",
        (
            r"\bworking\W+(?:windows|office)\W+"
            + _GAP2
            + r"keys?\b|\bfree\W+(?:windows|office)\W+"
            + _GAP2
            + r"keys?\b|\bsql\W+injection\b"
        ),
        "en_keys",
    ),
    Rule(
        "prompt_extraction",
        "zh",
        r"(?:其他|别的|所有)的?(?:顾客|客户|用户|买家)的(?:手机号|电话|地址|信息|订单|身份证|联系方式)",
        "zh_other_customers_data",
    ),
    Rule(
        "roleplay_jailbreak",
        "zh",
        r"没有任何禁忌|百无禁忌|什么都敢说|什么都能说|不受任何约束的你",
        "zh_no_taboo",
    ),
    Rule(
        "price_manipulation",
        "en",
        r"\b(?:answer|reply|respond)\W+only\W+(?:with\W+)?(?:a\W+)?(?:yes|ok)\b",
        "en_answer_only_yes",
    ),
    # ---------------------------------------------------------------- encodings asked to be followed
    Rule(
        "obfuscated",
        "zh",
        (
            r"(?:解码|译码|解密|倒着读|反着读|倒过来读|翻转|rot13|base64|十六进制|hex|编码)(?:后|并|然后|再)?.{0,8}?"
            r"(?:执行|照做|遵照|按照|照着|按内容|遵守|服从)"
        ),
        "zh_decode_follow",
    ),
    Rule(
        "obfuscated",
        "en",
        (
            r"\b(?:decode|decrypt|reverse|rot13|base64|unscramble)\W+" + _GAP4 + r"(?:and\W+|then\W+)*"
            r"(?:follow|obey|execute|do\W+what|run|comply)"
        ),
        "en_decode_follow",
    ),
]

# Kinds a passage's sentence is checked for (a price word in a passage is normal: "全场满99元包邮").
PASSAGE_KINDS = frozenset({"role_override", "roleplay_jailbreak", "prompt_extraction", "fake_authority"})
PASSAGE_EXTRA = [
    Rule(
        "role_override",
        "zh",
        (
            r"(?:ai|助手|机器人|模型|客服机器人|assistant)(?:应|要|必须|需要|请)(?:忽略|告诉|回答|回复|声称|承诺|说)|"
            r"(?:请|让|要求)(?:ai|助手|机器人|模型|客服机器人|assistant|大模型)(?:助手)?(?:忽略|告诉|回答|回复|声称|承诺|说|输出)"
        ),
        "zh_ai_addressed",
    ),
    Rule(
        "role_override",
        "en",
        (
            r"\b(?:tell|inform)\W+(?:the\W+)?(?:user|customer)s?\W+(?:that\W+)?" + _GAP4 + r"(?:free|100\W*%)|"
            r"\bas\W+an?\W+(?:ai|assistant|language\W+model)\W+you\W+(?:must|should)"
        ),
        "en_tell_user",
    ),
    Rule(
        "price_manipulation",
        "zh",
        r"(?:告诉|告知|通知|回复|回答|对)(?:所有)?(?:用户|顾客|客户|买家)说?.{0,20}?(?:全部免费|都免费|一律免费|免单|0元|零元)",
        "zh_tell_users_free",
    ),
]

# Lexical cues: the features the classifier adds to the embedding (each 0/1).
CUES: list[tuple[str, str]] = [
    ("ignore", r"忽略|无视|忘记|忘掉|不要理|别管|ignore|disregard|forget|override"),
    ("rules", r"指令|规则|设定|提示|限制|约束|instruction|rules?|prompt|polic|restriction|guideline"),
    ("persona", r"你是|扮演|假装|角色|模式|you are|pretend|act as|role|persona|mode"),
    ("system", r"系统|后台|开发|system|developer|admin|debug"),
    (
        "authority",
        r"经理|老板|店长|主管|管理员|领导|授权|批准|manager|owner|boss|supervisor|authori[sz]|approv",
    ),
    ("money", r"价格|免费|免单|折|退款|赔|补偿|price|free|discount|refund|compensat|\$"),
    ("must", r"必须|承诺|保证|命令|立刻|马上|只需|must|promise|guarantee|order you|command|immediately"),
    ("reveal", r"原样|输出|复述|打印|泄露|原文|repeat|print|reveal|verbatim|output|leak"),
    (
        "question",
        r"[吗么嘛呢?？]\W*$|^(?:how|what|when|where|why|can|could|do|does|is|are|will)\b|怎么|如何|请问|什么时候|哪里|多久",
    ),
    ("harm", r"炸|毒|黑客|破解|盗|诈骗|激活码|bomb|hack|steal|malware|phish|meth"),
]


# Words without which no rule fires: a reversed, rot13 or decoded view lacking all of them is skipped (it is
# almost always noise: a benign message read backwards). Plain views are never skipped.
GATES: dict[str, str] = {
    "zh": (
        r"忽略|忽视|无视|忘记|忘掉|指令|指示|命令|规则|规定|设定|提示|限制|约束|价格|改价|免费|免单|0元|零元|一元|1元|打0|打一|0折|"
        r"扮演|假装|你是|你现在|经理|老板|店长|店主|主管|管理员|授权|同意|输出|复述|重复|系统|模式|退款|赔偿|补偿|承诺|保证|dan|"
        r"prompt|ignore|越狱|奶奶|黑客|炸弹|炸药|冰毒|毒品|盗|激活码|序列号|从现在|接下来|原样|原文|全场|优惠"
    ),
    "en": (
        r"ignor|disregard|forget|instruct|rule|prompt|system|dan\b|pretend|act |price|free|refund|discount|owner|"
        r"manager|admin|repeat|reveal|print|mode|restrict|polic|you are|you're|bomb|hack|steal|promise|guarantee|"
        r"coupon|total|role|jailbr|"
        r"guideline|filter|developer|obey|override|compensat|approved|authori|keys?\b|meth|malware|phish"
    ),
    "raw": r"系统|system|admin|管理员|assistant|inst|im_start|###|---|user|[「“\"'『‘]",
}

CUE_KIND: dict[str, str] = {
    "ignore": "role_override",
    "rules": "role_override",
    "persona": "roleplay_jailbreak",
    "reveal": "prompt_extraction",
    "authority": "fake_authority",
    "money": "price_manipulation",
    "harm": "off_topic_harmful",
}
