from django.urls import path

from workflows import apis, estimate_apis, run_apis, web_apis

urlpatterns = [
    # Both forms list workflows: SPEC names `workflow/`, every other path has no trailing slash.
    path("workflow/", web_apis.WorkflowListApi.as_view(), name="workflow-list"),
    path("workflow", web_apis.WorkflowListNoSlashApi.as_view(), name="workflow-list-no-slash"),
    path("workflow/publish", apis.WorkflowPublishApi.as_view(), name="workflow-publish"),
    path("workflow/publish/<int:workflow_id>", apis.WorkflowPublishRevisionApi.as_view(), name="workflow-publish-revision"),
    # The run-aware view answers plain gets through WorkflowGetApi and adds `?run=`.
    path("workflow/get/<int:workflow_id>", run_apis.WorkflowGetRunApi.as_view(), name="workflow-get"),
    path("workflow/detail/<int:workflow_id>", apis.WorkflowDetailApi.as_view(), name="workflow-detail"),
    path("workflow/history/<int:workflow_id>", apis.WorkflowHistoryApi.as_view(), name="workflow-history"),
    path("workflow/delete/<int:workflow_id>", apis.WorkflowDeleteApi.as_view(), name="workflow-delete"),
    path("workflow/plan/<int:workflow_id>", apis.WorkflowPlanApi.as_view(), name="workflow-plan"),
    path("workflow/estimate/<int:workflow_id>", estimate_apis.WorkflowEstimateApi.as_view(), name="workflow-estimate"),
    path("workflow/execute/<int:workflow_id>", run_apis.WorkflowExecuteApi.as_view(), name="workflow-execute"),
    path("workflow/cancel/<int:workflow_id>", run_apis.WorkflowCancelApi.as_view(), name="workflow-cancel"),
    path("workflow/status/<int:workflow_id>", run_apis.WorkflowStatusApi.as_view(), name="workflow-status"),
    path("workflow/runs/<int:workflow_id>", web_apis.WorkflowRunsApi.as_view(), name="workflow-runs"),
    # <path:>: node uniquenames are free text ("float.0.float", even slashes).
    path("runs/<int:run_id>/logs/<path:node>", web_apis.TaskLogFollowApi.as_view(), name="run-task-log"),
    path("artifacts/<uuid:artifact_id>", run_apis.ArtifactDownloadApi.as_view(), name="artifact-download"),
    path("artifacts/<uuid:artifact_id>/provenance", run_apis.ArtifactProvenanceApi.as_view(), name="artifact-provenance"),
    path("queue/status", run_apis.QueueStatusApi.as_view(), name="queue-status"),
    path("queue/clear", run_apis.QueueClearApi.as_view(), name="queue-clear"),
]
