"""The 红黑榜: which public list a merchant is on, and why, in words a citizen reads.

Stdlib only. Black is the graver list and wins: a merchant that defaulted or is a 失信
judgment debtor is on the black list only, even when its code is red too.
"""

from __future__ import annotations

from collections.abc import Set

REASONS = {
    "defaulted": "已宣告违约：商户无法继续履约，未用完的预付款正在按规则退还",
    "dishonest_debtor": "已被列入失信被执行人名单",
    "delisted": "已被平台下架：暂停售卡，已售的卡仍可使用或退款",
    "red_code": "预付健康码为红码：经营或资金风险高，请谨慎购卡",
}
"""reason_code -> the reason as the public page and the API say it."""


def standing(code: str, status: str, flags: Set[str]) -> tuple[str, str] | None:
    """(list, reason_code): ("black", ...), ("red", ...) or None when on neither."""
    if status == "defaulted":
        return "black", "defaulted"
    if "dishonest_debtor" in flags:
        return "black", "dishonest_debtor"
    if status == "delisted":
        return "red", "delisted"
    if code == "red":
        return "red", "red_code"
    return None
