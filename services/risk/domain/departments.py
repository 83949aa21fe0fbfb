"""The regulators' departments and which of them supervises a merchant.

Prepaid cards are supervised by sector (商务部门 for single-purpose commercial cards, 教育 and
体育 for tutoring and gyms), while 市场监管局 and the consumer association that runs 预付保 see
every merchant. A department filters the regulators' queues and lists; it never hides
anything from a regulator of another department.
"""

from __future__ import annotations

DEPARTMENTS: dict[str, str] = {
    "samr": "市场监管局",
    "commerce": "商务局",
    "education": "教育局",
    "sports": "体育局",
    "association": "消费者协会（预付保）",
}

_BY_INDUSTRY = {"education": "education", "fitness": "sports"}


def department_of_industry(industry: str) -> str:
    """The sector department of a merchant's industry: 商务局 for every sector without its
    own (catering, beauty, retail, other)."""
    return _BY_INDUSTRY.get(industry, "commerce")
