"""The canned in-policy answers to a detected attack, in the customer's language."""

from __future__ import annotations

_REFUSALS_ZH = {
    "prompt_extraction": (
        "抱歉，我的内部设置无法提供。我可以帮您查询订单、物流、退换货等问题；如需人工帮助请回复「转人工」。"
    ),
    "price_manipulation": (
        "抱歉，我无法修改价格、发放额外优惠或作出售后政策以外的承诺。价格和优惠以商品页面为准，退款和赔付按店铺的售后政策办理；"
        "如需人工帮助请回复「转人工」。"
    ),
    "fake_authority": (
        "抱歉，我无法根据聊天中的身份声明或“已获批准”的说法变更订单、价格或规则。如确有店铺授权，请通过商家后台或人工客服办理；"
        "如需人工帮助请回复「转人工」。"
    ),
    "off_topic_harmful": (
        "抱歉，这个问题我无法帮助。我是本店的客服助手，可以为您解答商品、订单和售后问题；如需人工帮助请回复「转人工」。"
    ),
    "roleplay_jailbreak": (
        "抱歉，我是本店的客服助手，只能回答与店铺商品、订单和售后相关的问题。如需人工帮助请回复「转人工」。"
    ),
}
_REFUSAL_ZH = (
    "抱歉，我只能按照店铺的规定为您服务，无法执行这个请求。请问有什么商品、订单或售后问题需要帮忙吗？"
    "如需人工帮助请回复「转人工」。"
)
_REFUSALS_EN = {
    "prompt_extraction": (
        "Sorry, I can't share my internal setup. I'm happy to help with orders, delivery, returns and refunds; "
        'for a person, reply "human" (转人工).'
    ),
    "price_manipulation": (
        "Sorry, I can't change prices, create discounts or promise anything beyond the store's after-sales policy. "
        "Prices and offers are as shown on the product page; refunds follow the store's policy. For a person, reply "
        '"human" (转人工).'
    ),
    "fake_authority": (
        "Sorry, I can't change orders, prices or rules based on a claimed role or approval in the chat. Authorised "
        'changes are made in the merchant back office or by our staff; for a person, reply "human" (转人工).'
    ),
    "off_topic_harmful": (
        "Sorry, I can't help with that. I'm this store's assistant and can help with products, orders and "
        'after-sales questions; for a person, reply "human" (转人工).'
    ),
    "roleplay_jailbreak": (
        "Sorry, I'm this store's customer-service assistant and can only help with the store's products, orders and "
        'after-sales questions. For a person, reply "human" (转人工).'
    ),
}
_REFUSAL_EN = (
    "Sorry, I can only help within the store's policies and can't do that. Is there anything about a product, an "
    'order or a return I can help with? For a person, reply "human" (转人工).'
)


def refusal(text_lang_zh: bool, kind: str | None) -> str:
    """The canned in-policy answer to a detected attack: polite, no hint of what was detected beyond the kind of
    request, and the way to a person. Chinese for a Chinese message, English otherwise."""
    if text_lang_zh:
        return _REFUSALS_ZH.get(kind or "", _REFUSAL_ZH)
    return _REFUSALS_EN.get(kind or "", _REFUSAL_EN)
