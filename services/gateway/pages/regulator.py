"""The regulator's workbench `/regulator/` (信用监管驾驶舱; desktop first, usable on a phone):
the city at a glance with the 风险预警名单, the alert queue worked step by step, a merchant's
drill-down with its actions, and the daily reconciliation; and the inspections (issue 14): the
department's plans with their verifiable 双随机 draw, each inspection with its rectification,
the roster of inspectors and the year's figures. The pages are shells: their scripts
(static/js/regulator/) ask the public API as the logged-in regulator."""

from __future__ import annotations

from flask import Blueprint, render_template

blueprint = Blueprint("regulator_pages", __name__, url_prefix="/regulator")

SECTIONS = (
    ("dashboard", "/regulator/", "全市概览"),
    ("alerts", "/regulator/alerts", "预警处置"),
    ("merchants", "/regulator/merchants", "商户查询"),
    ("reconciliation", "/regulator/reconciliation", "资金对账"),
    ("plans", "/regulator/inspection/plans", "检查计划"),
    ("inspectors", "/regulator/inspection/inspectors", "检查人员"),
    ("inspection-stats", "/regulator/inspection/stats", "检查统计"),
)
"""The workbench's navigation, in order: (page, path, its name)."""


def _page(template: str, section: str, **context):
    return render_template(f"regulator/{template}", sections=SECTIONS, current=section, **context)


@blueprint.get("/")
def dashboard():
    return _page("dashboard.html", "dashboard")


@blueprint.get("/alerts")
def alerts():
    return _page("alerts.html", "alerts")


@blueprint.get("/merchants")
def merchants():
    return _page("merchant.html", "merchants", merchant_id="")


@blueprint.get("/merchants/<merchant_id>")
def merchant(merchant_id: str):
    """A merchant's drill-down; its id goes to the script in a data attribute (escaped)."""
    return _page("merchant.html", "merchants", merchant_id=merchant_id)


@blueprint.get("/reconciliation")
def reconciliation():
    return _page("reconciliation.html", "reconciliation")


@blueprint.get("/inspection/plans")
def plans():
    return _page("inspection_plans.html", "plans")


@blueprint.get("/inspection/plans/<plan_id>")
def plan(plan_id: str):
    """A plan, its draw and how to verify it; its id goes to the script escaped."""
    return _page("inspection_plan.html", "plans", plan_id=plan_id)


@blueprint.get("/inspections/<inspection_id>")
def inspection(inspection_id: str):
    """An inspection: check-ins, result, joint visits, the rectification and its acceptance."""
    return _page("inspection.html", "plans", inspection_id=inspection_id)


@blueprint.get("/inspection/inspectors")
def inspectors():
    return _page("inspectors.html", "inspectors")


@blueprint.get("/inspection/stats")
def inspection_stats():
    return _page("inspection_stats.html", "inspection-stats")
