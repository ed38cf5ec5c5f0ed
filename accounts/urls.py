from django.urls import path

from accounts import apis

urlpatterns = [
    path("register", apis.RegisterApi.as_view(), name="register"),
    path("login", apis.LoginApi.as_view(), name="login"),
    path("logout", apis.LogoutApi.as_view(), name="logout"),
    path("token/refresh", apis.RefreshApi.as_view(), name="token-refresh"),
    path("token", apis.ApiTokenApi.as_view(), name="token"),
    path("token/<int:token_id>", apis.ApiTokenDetailApi.as_view(), name="token-detail"),
]
