from django.conf import settings
from django.http import JsonResponse

ARTIFACT_UPLOAD_PATH = "/api/v1/runners/artifacts"


class BodySizeLimitMiddleware:
    """Refuses oversized request bodies from Content-Length alone, before a byte is read.

    Django only enforces DATA_UPLOAD_MAX_MEMORY_SIZE when `request.body` is touched, and DRF's
    parsers read the stream directly, so without this a 2 GB JSON body would be read into memory.
    Requests without Content-Length get an empty stream under WSGI, so they cannot sneak past.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return JsonResponse({"detail": "Content-Length must be an integer."}, status=400)
        if length < 0:
            return JsonResponse({"detail": "Content-Length must not be negative."}, status=400)
        # Artifacts are files, not documents: they stream to disk and have their own, larger cap.
        limit = settings.MAX_ARTIFACT_BYTES if request.path == ARTIFACT_UPLOAD_PATH else settings.MAX_BODY_BYTES
        if length > limit:
            return JsonResponse(
                {"detail": f"request body of {length} bytes exceeds the limit of {limit} bytes."},
                status=413,
            )
        return self.get_response(request)


class NulInUrlMiddleware:
    """Refuses a URL whose path or query holds a NUL (%00) with a 400. No name, node or value can hold
    one (the database cannot store it), and PostgreSQL refuses it even in a lookup: a 500 otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return JsonResponse({"detail": "the URL's path holds a NUL character (%00), which no name can hold."}, status=400)
        if "%00" in request.META.get("QUERY_STRING", ""):
            for key, values in request.GET.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    name = key.replace("\x00", "\u2400")
                    message = "holds a NUL character (%00), which no value can hold"
                    return JsonResponse({"detail": f"{name}: {message}.", "errors": {name: [message]}}, status=400)
        return self.get_response(request)
