"""The web app's page: index.html of the built app for every page path, so deep links and reloads work.

The app routes in the browser (`/workflows/3/runs/12`); the server only hands out the same
index.html for any such path. WhiteNoise serves the app's own files (`/assets/...`) before a request
reaches Django's URLs; the URL map sends `/api/`, `/admin/` and the static prefix elsewhere.
"""

import hashlib
import re
from html import escape

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseNotFound
from django.views.decorators.http import require_safe

NOT_BUILT_STATUS = 503
IMMUTABLE = "max-age=315360000, public, immutable"  # as WhiteNoise sends for hashed files

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Web app not built · Nodeworks</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web app is not built</h1>
<p>The server found no built web app in <code>{dist}</code>.</p>
<p>Build it with <code>scripts/build-frontend.sh</code> (it needs Node.js 20 and npm; <code>./run.sh</code>
runs it for you), then reload this page.</p>
<p>The API works without it: see <a href="/api/v1/">/api/v1/</a> and its documentation at
<a href="/api/v1/docs">/api/v1/docs</a>.</p>
</body>
</html>
"""


def page_path_pattern() -> str:
    """Paths that are pages of the app: anything not under /api, /admin, the static prefix or /assets.

    /assets/ is excluded so that a missing hashed file (an old tab asking for last build's script)
    is a plain 404, not index.html served as JavaScript.
    """
    static_prefix = re.escape(settings.STATIC_URL.strip("/"))
    return rf"^(?!(?:api|admin|{static_prefix}|assets)(?:/|$)).*$"


@require_safe
def app_page(request, *args, **kwargs):
    index = settings.FRONTEND_DIST / "index.html"
    try:
        content = index.read_bytes()
    except FileNotFoundError:
        page = NOT_BUILT_PAGE.format(dist=escape(str(settings.FRONTEND_DIST)))
        response = HttpResponse(page, status=NOT_BUILT_STATUS, content_type="text/html; charset=utf-8")
        response["Cache-Control"] = "no-store"
        return response
    # A strong validator of the exact bytes: a reload after a rebuild gets the new page, otherwise a 304.
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    if _matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(content, content_type="text/html; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = {candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")}
    return etag in candidates or "*" in candidates


@require_safe
def late_asset(request, name: str):
    """An asset WhiteNoise did not index: one a rebuild added after this process started.

    In production WhiteNoise lists the files once, at start, while index.html is read on every
    request, so after a rebuild the new page names assets only the disk knows. Missing ones (an old
    tab asking for the last build's script) are a plain 404, not index.html served as JavaScript."""
    assets = (settings.FRONTEND_DIST / "assets").resolve()
    path = (assets / name).resolve()
    if not path.is_relative_to(assets) or not path.is_file():
        return HttpResponseNotFound(b"no such file in the built web app\n", content_type="text/plain; charset=utf-8")
    response = FileResponse(path.open("rb"))
    response["Cache-Control"] = IMMUTABLE
    return response
