"""The gateway's HTML pages: Flask blueprints rendering Jinja2 templates, served from the same
origin as the API. A page holds no business rule: its scripts (static/js/, plain ES modules)
call only the public API, `fetch('/api/v1/...')`, with the bearer token the tab keeps in
sessionStorage.

Each area is one blueprint module (public.py: the directory `/` and `/login`); `BLUEPRINTS`
lists them, and `install` registers them with the shared templates and static files (the
`assets` blueprint at /static/) and the security headers every page response carries.
"""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Flask, Response, request, url_for

from services.gateway.pages import consumer, inspector, merchant, public, regulator

assets = Blueprint(
    "assets",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

BLUEPRINTS: tuple[Blueprint, ...] = (
    assets,
    public.blueprint,
    consumer.blueprint,  # /app/: the consumer's pages
    merchant.blueprint,  # /merchant/: the merchant's counter console
    regulator.blueprint,  # /regulator/: the regulator's workbench
    inspector.blueprint,  # /inspector/: the inspector's phone page (e码查 check-in, results)
)
"""Every blueprint that serves pages or their files; none of their routes is an API route."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        # No inline script and no eval: an injected <script> or attribute handler does not run.
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def page_blueprint_names() -> frozenset[str]:
    return frozenset(blueprint.name for blueprint in BLUEPRINTS)


def _static_url(path: str) -> str:
    """A file under pages/static/, for the templates: {{ static('js/api.js') }}."""
    return url_for("assets.static", filename=path)


def install(app: Flask) -> None:
    # Module scripts must be served as JavaScript (nosniff makes the browser insist); the
    # system's MIME table may not know .mjs.
    mimetypes.add_type("text/javascript", ".js")
    mimetypes.add_type("text/javascript", ".mjs")
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.jinja_env.globals["static"] = _static_url
    names = page_blueprint_names()

    @app.after_request
    def _page_headers(response: Response) -> Response:
        if request.blueprint in names:
            response.headers.update(SECURITY_HEADERS)
        return response
