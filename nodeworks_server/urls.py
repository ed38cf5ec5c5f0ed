from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from nodeworks_server.apis import StatusApi
from runners.selectors import queue_figures

api_v1 = [
    # The runner protocol comes first: its calls are the hot path, and Django
    # tries the patterns in order on every request.
    path("", include("runners.urls")),
    path("status", StatusApi.as_view(figures=queue_figures), name="status"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("accounts.urls")),
    path("", include("workflows.urls")),
    path("", include("runners.user_urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]
