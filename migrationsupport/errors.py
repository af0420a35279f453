"""Error pages that never depend on the database: 503 while it is unreachable, 500 otherwise."""

from __future__ import annotations

import sys

from django.db import DatabaseError, InterfaceError, OperationalError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token


@requires_csrf_token
def server_error(request, template_name: str = "500.html"):
    """handler500: Django calls it inside its ``except`` block, so the exception is at hand.

    An unreachable database (OperationalError / InterfaceError) is a temporary outage: answer
    503 with Retry-After. Connections are health-checked (CONN_HEALTH_CHECKS), so the first
    request after PostgreSQL returns is served normally, with no restart.
    """
    from django.http import HttpResponse, HttpResponseServerError

    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)) or (
        isinstance(error, DatabaseError) and "connection" in str(error).lower()
    ):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = "30"
        return response
    return HttpResponseServerError(loader.get_template(template_name).render())
