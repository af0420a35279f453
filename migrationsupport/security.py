"""Security pieces Django 5.2 does not ship: the Content-Security-Policy header, and the client
address django-axes counts failed logins against (the same one the API throttle uses)."""

from __future__ import annotations

from django.conf import settings

# Scripts only from this site and never inline (the API docs use drf-spectacular's split Swagger
# view and a Redoc template with no inline script). Styles may be inline: Redoc and Swagger UI
# set them at run time, and a style cannot run code. Redoc starts its search worker from a blob:.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def content_security_policy() -> str:
    directives = dict(CONTENT_SECURITY_POLICY)
    if settings.CSP_REPORT_URI:
        directives["report-uri"] = [settings.CSP_REPORT_URI]
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` to every answer that does not set its own, cached pages,
    static files and error pages included."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


def client_ip(request) -> str | None:
    """The client's address for django-axes, as DRF's throttle finds it.

    Behind ``NUM_PROXIES`` proxies the client is the address the outermost of them appended to
    ``X-Forwarded-For`` (what a client sends itself is further left and ignored); otherwise
    ``REMOTE_ADDR``.
    """
    num_proxies = settings.AXES_NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if num_proxies and forwarded:
        addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
        if addresses:
            return addresses[-min(num_proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR")
