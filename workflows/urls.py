from django.urls import path

from workflows import apis

urlpatterns = [
    path("workflow/", apis.WorkflowListApi.as_view(), name="workflow-list"),
    path("workflow/publish", apis.WorkflowPublishApi.as_view(), name="workflow-publish"),
    path("workflow/publish/<int:workflow_id>", apis.WorkflowPublishRevisionApi.as_view(), name="workflow-publish-revision"),
    path("workflow/get/<int:workflow_id>", apis.WorkflowGetApi.as_view(), name="workflow-get"),
    path("workflow/detail/<int:workflow_id>", apis.WorkflowDetailApi.as_view(), name="workflow-detail"),
    path("workflow/history/<int:workflow_id>", apis.WorkflowHistoryApi.as_view(), name="workflow-history"),
    path("workflow/delete/<int:workflow_id>", apis.WorkflowDeleteApi.as_view(), name="workflow-delete"),
    path("workflow/plan/<int:workflow_id>", apis.WorkflowPlanApi.as_view(), name="workflow-plan"),
]
