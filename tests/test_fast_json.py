"""The runner protocol's renderer (nodeworks_server/fast_json.py) writes what DRF's writes."""

import datetime
import json
import uuid

from rest_framework.renderers import JSONRenderer

from nodeworks_server.fast_json import FastJSONRenderer


def test_the_same_json_as_drfs_renderer_and_big_integers_still_written():
    data = {
        "tasks": [{"lease_id": uuid.UUID("5f0c0000-0000-4000-8000-000000000001"), "inputs": {"x": [1, 2.5, None]},
                   "expires_at": datetime.datetime(2026, 12, 3, 9, 0, 1, 123456, tzinfo=datetime.UTC),
                   "node": {"name": "Add \u00e9\u2603"}}],
        "shutdown": False,
    }
    assert json.loads(FastJSONRenderer().render(data)) == json.loads(JSONRenderer().render(data))
    huge = {"outputs": {"n": 2**70}}
    assert json.loads(FastJSONRenderer().render(huge)) == {"outputs": {"n": 2**70}}
    assert FastJSONRenderer().render(None) == b""
