"""Facility categories from what people write: an enum value or a Chinese word.

Exact words win, then the longest word contained in the text; when the category column is
empty the facility's name is tried the same way (``阳光幼儿园`` -> childcare/幼儿园).

Example::

    >>> resolve_category("托育")
    ('childcare', '托育')
    >>> resolve_category("社区卫生服务站")
    ('medical', '卫生服务站')
    >>> resolve_category("elderly_care")
    ('elderly_care', None)
    >>> resolve_category("停车场") is None
    True
"""

from __future__ import annotations

from cimhouse.schema.vocab import FacilityCategory as Cat

# word -> (category, subtype). Kindergartens sit with childcare: the "一小" early-years
# services share the 5-minute (300 m) circle of GB 50180-2018 (see docs/services.md).
CATEGORY_WORDS: dict[str, tuple[Cat, str]] = {
    "托育": (Cat.CHILDCARE, "托育"), "托儿所": (Cat.CHILDCARE, "托儿所"),
    "托育园": (Cat.CHILDCARE, "托育"), "育婴": (Cat.CHILDCARE, "托育"),
    "幼儿园": (Cat.CHILDCARE, "幼儿园"), "早教": (Cat.CHILDCARE, "早教"),
    "儿童之家": (Cat.CHILDCARE, "儿童之家"),
    "小学": (Cat.EDUCATION, "小学"), "初中": (Cat.EDUCATION, "初中"),
    "中学": (Cat.EDUCATION, "中学"), "九年一贯制": (Cat.EDUCATION, "九年一贯制学校"),
    "学校": (Cat.EDUCATION, "学校"), "教育": (Cat.EDUCATION, "学校"),
    "老年学校": (Cat.EDUCATION, "老年学校"),
    "养老": (Cat.ELDERLY_CARE, "养老"), "养老院": (Cat.ELDERLY_CARE, "养老院"),
    "敬老院": (Cat.ELDERLY_CARE, "敬老院"), "福利院": (Cat.ELDERLY_CARE, "福利院"),
    "照料中心": (Cat.ELDERLY_CARE, "日间照料中心"),
    "日间照料": (Cat.ELDERLY_CARE, "日间照料中心"),
    "居家养老": (Cat.ELDERLY_CARE, "居家养老服务中心"),
    "老年食堂": (Cat.ELDERLY_CARE, "老年食堂"), "助餐": (Cat.ELDERLY_CARE, "老年食堂"),
    "托老所": (Cat.ELDERLY_CARE, "托老所"),
    "卫生服务站": (Cat.MEDICAL, "卫生服务站"), "卫生服务中心": (Cat.MEDICAL, "卫生服务中心"),
    "卫生院": (Cat.MEDICAL, "卫生院"), "卫生室": (Cat.MEDICAL, "卫生室"),
    "医院": (Cat.MEDICAL, "医院"), "诊所": (Cat.MEDICAL, "诊所"),
    "门诊": (Cat.MEDICAL, "门诊"), "药店": (Cat.MEDICAL, "药店"), "医疗": (Cat.MEDICAL, "医疗"),
    "菜场": (Cat.COMMERCE, "菜场"), "菜市场": (Cat.COMMERCE, "菜场"),
    "农贸市场": (Cat.COMMERCE, "菜场"), "超市": (Cat.COMMERCE, "超市"),
    "便利店": (Cat.COMMERCE, "便利店"), "商业": (Cat.COMMERCE, "商业"),
    "体育": (Cat.SPORTS, "体育"), "健身": (Cat.SPORTS, "健身点"),
    "运动场": (Cat.SPORTS, "运动场"), "球场": (Cat.SPORTS, "球场"),
    "文化": (Cat.CULTURE, "文化"), "图书馆": (Cat.CULTURE, "图书馆"),
    "文化礼堂": (Cat.CULTURE, "文化礼堂"), "书屋": (Cat.CULTURE, "书屋"),
    "公交": (Cat.TRANSPORT, "公交站"), "地铁": (Cat.TRANSPORT, "地铁站"),
    "快递": (Cat.TRANSPORT, "快递驿站"), "驿站": (Cat.TRANSPORT, "快递驿站"),
    "物流": (Cat.TRANSPORT, "物流"), "交通": (Cat.TRANSPORT, "交通"),
    "物业": (Cat.PROPERTY_SERVICE, "物业服务中心"),
    "派出所": (Cat.SECURITY, "派出所"), "警务": (Cat.SECURITY, "警务室"),
    "消防": (Cat.SECURITY, "消防站"), "安防": (Cat.SECURITY, "安防"),
    "党群服务": (Cat.GOVERNANCE, "党群服务中心"), "社区服务": (Cat.GOVERNANCE, "社区服务中心"),
    "居委会": (Cat.GOVERNANCE, "居委会"), "村委会": (Cat.GOVERNANCE, "村委会"),
    "邻里中心": (Cat.GOVERNANCE, "邻里中心"), "治理": (Cat.GOVERNANCE, "社区治理"),
}
_BY_LENGTH = sorted(CATEGORY_WORDS, key=len, reverse=True)
_VALUES = {c.value for c in Cat}


def resolve_category(text: str) -> tuple[str, str | None] | None:
    """(category, subtype) for an enum value or a Chinese word; None when unknown."""
    raw = text.strip()
    if raw.lower() in _VALUES:
        return raw.lower(), None
    if raw in CATEGORY_WORDS:
        category, subtype = CATEGORY_WORDS[raw]
        return category.value, subtype
    for word in _BY_LENGTH:
        if word in raw:
            category, subtype = CATEGORY_WORDS[word]
            return category.value, subtype
    return None
