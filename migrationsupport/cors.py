"""Cross-origin reads of the API: any web page may ``GET`` (and ``HEAD``) ``/api/`` answers
anonymously; nothing else is allowed across origins.

A few lines rather than django-cors-headers: the whole policy is one constant origin (``*``)
on safe methods under one prefix, without credentials. ``Access-Control-Allow-Origin: *`` does
not depend on the request, so the page cache's shared answers need no ``Vary: Origin``; with
``*`` browsers send no cookies or tokens, so a cross-origin read is always the public one.
Writes get no CORS headers: a browser refuses a cross-origin write (and its preflight).
"""

from __future__ import annotations

from django.http import HttpResponse

API_PREFIX = "/api/"
SAFE_METHODS = ("GET", "HEAD")
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ALLOWED_HEADERS = "Accept, Accept-Language, If-None-Match, If-Modified-Since"
EXPOSED_HEADERS = (
    "ETag, Last-Modified, Content-Disposition, Retry-After, "
    "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
)
PREFLIGHT_MAX_AGE = 86400


class ApiCorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        requested = request.headers.get("Access-Control-Request-Method", "").upper()
        if request.method == "OPTIONS" and "Origin" in request.headers and requested:
            if requested not in SAFE_METHODS:
                return HttpResponse(status=204)  # no CORS headers: the browser refuses
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
            return response
        response = self.get_response(request)
        if request.method in SAFE_METHODS:
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response
