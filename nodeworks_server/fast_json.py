"""A JSON renderer for the runner protocol's answers, written by orjson.

A lease or results answer carries up to 500 task payloads (hundreds of kilobytes); DRF's renderer
(json.dumps through its encoder) was a visible share of such a call. orjson writes the same JSON
(UUIDs and datetimes as DRF writes them) several times faster. What it cannot write (an integer past
64 bits in a node's output) goes to DRF's renderer, which can.
"""

import orjson
from rest_framework.renderers import JSONRenderer


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        try:
            return orjson.dumps(data, option=orjson.OPT_UTC_Z)  # UTC as "Z", as DRF writes it
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
