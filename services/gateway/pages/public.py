"""The public pages: the merchant directory `/` (anyone) and the login page `/login`."""

from __future__ import annotations

from flask import Blueprint, render_template

blueprint = Blueprint("public_pages", __name__)


@blueprint.get("/")
def directory():
    return render_template("directory.html")


@blueprint.get("/login")
def login():
    """The demo role picker, or the production logins when dev-login answers 404: the page
    asks the API which it is, so one template serves both modes."""
    return render_template("login.html")
