from django.urls import path

from runners import apis

urlpatterns = [
    path("runners/lease", apis.LeaseApi.as_view(), name="runner-lease"),
    path("runners/heartbeat", apis.HeartbeatApi.as_view(), name="runner-heartbeat"),
    path("runners/logs", apis.LogsApi.as_view(), name="runner-logs"),
    path("runners/artifacts", apis.ArtifactUploadApi.as_view(), name="runner-artifacts"),
    path("runners/artifacts/<uuid:artifact_id>", apis.ArtifactDownloadApi.as_view(), name="runner-artifact-download"),
    path("runners/results", apis.ResultsApi.as_view(), name="runner-results"),
    path("runners/library", apis.LibraryApi.as_view(), name="runner-library"),
]
