"""The admin's login form, throttled like the API's login: failed attempts per client address and per
username, in the shared cache (accounts/throttles.py). The admin's own form has no throttle, and a
superuser's password is the best prize there is.

Every POST takes one attempt from both counters before the form sees it, and a successful login
gives them back: only failures count, parallel guesses are all counted (the increment is atomic),
and while either counter is full even the right password answers 429 with Retry-After.
"""

import hashlib

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse

from accounts.throttles import Rate, SlidingWindow, client_ident


def _username_key(username: str) -> str:
    # Hashed: a cache key must be short and plain whatever the form was sent.
    return hashlib.sha256(username.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]


class AdminLoginThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._login_path = None

    def login_path(self) -> str:
        if self._login_path is None:
            self._login_path = reverse("admin:login")
        return self._login_path

    def __call__(self, request):
        if request.method != "POST" or request.path != self.login_path():
            return self.get_response(request)
        rate = Rate.parse(settings.ADMIN_LOGIN_RATE)
        windows = [
            SlidingWindow(f"admin-login:addr:{client_ident(request)}", rate),
            SlidingWindow(f"admin-login:user:{_username_key(request.POST.get('username', ''))}", rate),
        ]
        taken = []
        for window in windows:
            wait = window.take()
            if wait is not None:
                for other in taken:
                    other.give_back()
                return _throttled(wait)
            taken.append(window)
        response = self.get_response(request)
        if response.status_code in (301, 302, 303) and request.user.is_authenticated:
            for window in taken:  # logged in: not a failure
                window.give_back()
        return response


def _throttled(wait: int) -> HttpResponse:
    response = HttpResponse(
        f"Too many failed logins from this address or for this user. Try again in {wait} seconds.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(wait)
    return response
