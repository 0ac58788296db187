"""Static world data: products with names and prices, brands, regions, comment texts."""

from __future__ import annotations

import random
from dataclasses import dataclass

from streams.simulator.hosts import role_of

PRODUCT_NAMES = (
    "玻尿酸保湿精华液", "氨基酸洁面乳", "清透防晒霜SPF50", "丝绒哑光口红", "轻薄气垫粉底",
    "紧致眼霜", "温和卸妆油", "香氛身体乳", "修护护手霜", "木质调淡香水", "控油洗发水",
    "柔顺护发素", "花香沐浴露", "美白牙膏", "声波电动牙刷", "316不锈钢保温杯", "降噪蓝牙耳机",
    "无油空气炸锅", "羊毛围巾", "轻薄羽绒服", "缓震运动鞋", "高腰瑜伽裤", "每日坚果礼盒",
    "阿拉比卡咖啡豆", "明前龙井绿茶", "土蜂蜜", "风干牛肉干", "蚕丝枕套", "便携榨汁杯",
    "补水面膜10片装",
)
PRICES_CENTS = (2990, 3990, 4990, 5990, 6990, 7990, 8990, 9900, 12900, 15900, 19900, 25900,
                29900, 39900, 59900)
REGIONS = ("广东", "浙江", "江苏", "上海", "北京", "四川", "山东", "湖北", "福建", "河南",
           "Hong Kong", "Taiwan", "Singapore", "Malaysia")
PLATFORMS = ("douyin", "taobao", "kuaishou", "wechat", "tiktok")
SOURCES = ("recommend", "search", "follow", "ads", "short_video", "private_domain", "other")
SOURCE_WEIGHTS = (35, 10, 15, 15, 15, 5, 5)
ENTRY_RATE = {"recommend": 0.30, "search": 0.50, "follow": 0.60, "ads": 0.25,
              "short_video": 0.40, "private_domain": 0.60, "other": 0.30}
AUDIENCE_PACKAGES = (
    "女性25-35美妆兴趣", "高消费一线城市", "老客召回", "竞品粉丝", "短视频互动人群",
)
PD_CHANNELS = ("wecom", "member", "wechat_group")
NEUTRAL_COMMENTS = (
    "主播好美", "这个颜色好看", "已下单", "求链接", "有优惠券吗", "几号发货", "适合油皮吗",
    "再讲讲成分", "买过很好用", "支持支持", "来了来了", "能便宜点吗", "包邮吗", "想要",
    "love this", "how much?", "does it ship to SG?", "looks great", "just ordered",
    "what size is she wearing?", "first time here", "hello from KL",
)
NEGATIVE_COMMENTS = (
    "我要退货", "这是假货吧", "太贵了", "骗子主播", "质量差，别买", "上次买的要退款",
    "I want a refund", "this is fake", "total scam", "质量差还太贵了", "假货！投诉",
)


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    name: str
    price_cents: int
    ctr: float
    cart_rate: float
    order_rate: float
    stock: int
    role: str = "profit"  # 引流款 / 利润款 / 战略款 (streams.simulator.hosts.role_of)


def room_products(rng: random.Random, room_index: int, count: int = 20) -> list[Product]:
    """`count` products for one room; each product's base rates are drawn once and kept."""
    names = rng.sample(PRODUCT_NAMES, count)
    return [
        Product(
            product_id=f"p{room_index}-{i + 1:02d}", name=name,
            price_cents=rng.choice(PRICES_CENTS), ctr=rng.uniform(0.06, 0.12),
            cart_rate=rng.uniform(0.22, 0.32), order_rate=rng.uniform(0.35, 0.5),
            stock=rng.randrange(800, 5000), role=role_of(i),
        )
        for i, name in enumerate(names)
    ]


def brand_of(room_index: int) -> str:
    """Rooms 1-2 belong to brand-1, rooms 3-4 to brand-2, ...: buyers reappear within a brand."""
    return f"brand-{(room_index - 1) // 2 + 1}"
