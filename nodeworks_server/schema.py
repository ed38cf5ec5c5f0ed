"""OpenAPI generation tuned to our style: nested Input/OutputSerializer classes per view, and
several paths per resource (`publish` and `publish/<id>`), which drf-spectacular would name alike."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class NodeworksAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction):
        # "LeaseApi.InputSerializer" → "LeaseApiInput" instead of one shared "Input" component.
        return type(serializer).__qualname__.replace(".", "")

    def get_operation_id(self):
        operation_id = super().get_operation_id()
        params = re.findall(r"{(\w+)}", self.path)
        return operation_id + "".join(f"_by_{param}" for param in params)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Token nwu_...`"}


class RunnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "runners.authentication.RunnerAuthentication"
    name = "runnerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Runner nwr_...`"}
