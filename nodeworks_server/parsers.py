from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from nodeworks_server.json_limits import JSONInputError, loads_limited


class LimitedJSONParser(JSONParser):
    """JSON bodies under the depth limit and without NaN; the size limit is the middleware's."""

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            raise ParseError("request body is empty; a JSON object is expected")
        try:
            return loads_limited(stream.read())
        except JSONInputError as exc:
            raise ParseError(str(exc)) from None
