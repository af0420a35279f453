"""How the API answers when something goes wrong: its own exceptions (412 and 409), the exception
handler named in ``REST_FRAMEWORK`` that turns Django's and the workflow's exceptions into DRF
answers (validation 400, refusals 403, stale versions 412, protected deletes and integrity races
409), and the JSON 404 for any address under /api/ that is no endpoint.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models.deletion import ProtectedError, RestrictedError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler

from .. import services

logger = logging.getLogger(__name__)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record has changed since you read it."
    default_code = "precondition_failed"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the records."
    default_code = "conflict"


def api_exception_handler(exc, context):
    """DRF's handler, plus: model validation as 400, the workflow's refusals as 403 with their
    message, a stale version as 412, protected deletes and integrity races as 409.

    Throttled answers keep DRF's ``Retry-After`` header.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(serializers.as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        # DRF would answer its generic message; the workflow's says what a Publisher may do.
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, services.StaleVersion):
        exc = PreconditionFailed(exc.message)
    elif isinstance(exc, ProtectedError | RestrictedError):
        referrers = sorted({str(obj) for obj in exc.args[1]})[:5]
        exc = Conflict(
            "Other records still refer to this one, so it cannot be deleted: "
            + "; ".join(referrers)
            + ("…" if len(exc.args[1]) > 5 else "")
        )
    elif isinstance(exc, RequestDataTooBig):
        exc = exceptions.ParseError(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes: send less."
        )
    elif isinstance(exc, IntegrityError):
        # Validation should have caught it (a race between two writers, or a missing rule).
        logger.warning("Integrity error answered as 409", exc_info=exc)
        exc = Conflict("The change conflicts with another record (for example a slug already in use).")
    return exception_handler(exc, context)


@csrf_exempt  # it changes nothing, whatever the method
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Any other address under /api/: a JSON 404 (API clients never get the site's HTML page)."""
    return JsonResponse({"detail": "No such API address. The endpoints are listed at /api/v1/."}, status=404)
