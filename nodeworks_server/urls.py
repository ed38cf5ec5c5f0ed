from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from nodeworks_server import api_errors, spa
from nodeworks_server.api_index import ApiIndexApi
from nodeworks_server.apis import StatusApi
from runners.selectors import queue_figures

api_v1 = [
    # The runner protocol comes first: its calls are the hot path, and Django
    # tries the patterns in order on every request.
    path("", include("runners.urls")),
    path("", ApiIndexApi.as_view(), name="api-index"),
    path("status", StatusApi.as_view(figures=queue_figures), name="status"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("accounts.urls")),
    path("", include("workflows.urls")),
    path("", include("runners.user_urls")),
    path("", include("triggers.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    # Whatever no endpoint matched under /api/ is a JSON 404 (naming the other slash form when that
    # one exists), never an HTML page.
    re_path(r"^api(?:/.*)?$", api_errors.api_not_found, name=api_errors.NOT_FOUND_URL_NAME),
    path("admin/", admin.site.urls),
    re_path(r"^assets/(?P<name>.*)$", spa.late_asset),
    # Last: every other path is a page of the web app, routed in the browser.
    re_path(spa.page_path_pattern(), spa.app_page, name="web-app"),
]

handler400 = api_errors.handler400
handler403 = api_errors.handler403
handler404 = api_errors.handler404
handler500 = api_errors.handler500
