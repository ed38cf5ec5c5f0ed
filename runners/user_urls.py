from django.urls import path

from runners import user_apis

urlpatterns = [
    path("runners/status", user_apis.RunnerStatusApi.as_view(), name="runners-status"),
    path("runners/register", user_apis.RunnerRegisterApi.as_view(), name="runners-register"),
    path("runners/cancel/<int:task_id>", user_apis.RunnerTaskCancelApi.as_view(), name="runners-cancel-task"),
    path("runners/shutdown/<int:runner_id>", user_apis.RunnerShutdownApi.as_view(), name="runners-shutdown"),
    path("nodes/library", user_apis.NodeLibraryApi.as_view(), name="nodes-library"),
    path("admin/cancel_all", user_apis.AdminCancelAllApi.as_view(), name="admin-cancel-all"),
    path("admin/shutdown", user_apis.AdminShutdownApi.as_view(), name="admin-shutdown"),
]
