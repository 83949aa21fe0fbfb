"""The public pages: the merchant directory `/` and the 红黑榜 `/lists` (anyone), and the
login page `/login`."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

blueprint = Blueprint("public_pages", __name__)


@blueprint.get("/")
def directory():
    return render_template("directory.html")


@blueprint.get("/lists")
def lists():
    return render_template("lists.html")


@blueprint.get("/login")
def login():
    """The demo role picker where dev-login works (demo mode), else the production logins.
    The mode is written into the page rather than probed with a refused dev-login, which
    the browser would log as a failed request."""
    return render_template("login.html", demo=current_app.config["SETTINGS"].mode == "demo")
