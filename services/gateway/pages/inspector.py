"""The inspector's phone page `/inspector/` (390 px first, WeUI): my inspection tasks, and one
task with its merchant, mode, plan and joint visits, the e码查 check-in (the merchant's code
scanned with the camera, or pasted) and the result form. The pages are shells: their scripts
(static/js/inspector/) ask the public API as the logged-in inspector."""

from __future__ import annotations

from flask import Blueprint, render_template

blueprint = Blueprint("inspector_pages", __name__, url_prefix="/inspector")


@blueprint.get("/")
def tasks():
    return render_template("inspector/tasks.html")


@blueprint.get("/inspections/<inspection_id>")
def task(inspection_id: str):
    return render_template("inspector/task.html")
