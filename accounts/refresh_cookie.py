"""The web app's refresh token lives in an httpOnly cookie, where no script can read it.

Only requests that say `X-Nodeworks-Client: web` use the cookie. That header is the CSRF defence: a
cross-site form or <img> cannot set a custom header, and a cross-site fetch that does needs a CORS
preflight, which this server refuses for this header (not in CORS_ALLOW_HEADERS; no credentials either). SameSite=Strict
keeps the cookie off cross-site requests as a second wall. API clients keep the plain SPEC contract:
the refresh token in the JSON body, no cookie involved.
"""

from django.conf import settings
from rest_framework_simplejwt.settings import api_settings as jwt_settings

WEB_CLIENT_HEADER = "X-Nodeworks-Client"
WEB_CLIENT_VALUE = "web"


def is_web_client(request) -> bool:
    return request.headers.get(WEB_CLIENT_HEADER, "").strip().lower() == WEB_CLIENT_VALUE


def refresh_from_cookie(request) -> str | None:
    return request.COOKIES.get(settings.REFRESH_COOKIE_NAME) or None


def set_refresh_cookie(response, request, refresh: str) -> None:
    response.set_cookie(
        settings.REFRESH_COOKIE_NAME,
        refresh,
        max_age=int(jwt_settings.REFRESH_TOKEN_LIFETIME.total_seconds()),
        path=settings.REFRESH_COOKIE_PATH,
        # Plain http only on a development server (DEBUG) reached without TLS.
        secure=request.is_secure() or not settings.DEBUG,
        httponly=True,
        samesite="Strict",
    )


def clear_refresh_cookie(response) -> None:
    response.delete_cookie(settings.REFRESH_COOKIE_NAME, path=settings.REFRESH_COOKIE_PATH, samesite="Strict")
