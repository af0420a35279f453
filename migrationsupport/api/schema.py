"""The OpenAPI schema class named in ``REST_FRAMEWORK`` (``DEFAULT_SCHEMA_CLASS``): drf-spectacular's
``AutoSchema`` plus what the base viewset does that it cannot see: reads without credentials, CSV
lists, the conditional request headers and ``ETag``, and the error answers each operation can give.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework.permissions import SAFE_METHODS

from ..serializers import HtmlField
from .conditional import WRITE_METHODS

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "Field name (or query parameter) → list of messages; `non_field_errors` for the record "
        "as a whole, `detail` for the request as a whole."
    ),
    "additionalProperties": {},
}
_ERRORS = {
    "400": ("ValidationError", _VALIDATION_ERROR_SCHEMA, "Invalid input or query parameter."),
    "401": ("Error", _ERROR_SCHEMA, "Authentication needed (send a token or a session)."),
    "403": ("Error", _ERROR_SCHEMA, "Not allowed: writes need a staff account with model permissions."),
    "404": ("Error", _ERROR_SCHEMA, "No published record here (or no such page)."),
    "409": ("Error", _ERROR_SCHEMA, "Conflicts with other records (e.g. a delete of a record others cite)."),
    "412": ("Error", _ERROR_SCHEMA, "If-Match names an older version: fetch the record again."),
    "429": ("Error", _ERROR_SCHEMA, "Too many requests: retry after the number of seconds in Retry-After."),
}


WRITES_TAG = "staff writes"
EXAMPLES = Path(__file__).with_name("examples.json")


@functools.cache
def _list_examples() -> dict:
    return json.loads(EXAMPLES.read_text(encoding="utf-8"))


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema plus what the base viewset does: CSV lists, conditional request
    headers, and the error answers each operation can give."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """A field kept under its API 1.0 name until 1.2 (``deprecated``) says so."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if getattr(field, "deprecated", False):
            schema["deprecated"] = True
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        if isinstance(field, HtmlField) and "oneOf" in schema:
            # drf-spectacular puts a formatted text that may be blank in a oneOf with "": HTML
            # stays typed as HTML (and nullable: an absent text is null).
            del schema["oneOf"]
            schema.update(type="string", format="html")

    def get_tags(self):
        """Reads under their record type; every write under one staff tag, listed last
        (``SPECTACULAR_SETTINGS["TAGS"]``), so the docs show what anyone can read first."""
        if self.method not in SAFE_METHODS:
            return [WRITES_TAG]
        return super().get_tags()

    def get_examples(self):
        """Each list's example: a record of the seed as the list gives it (``examples.json``,
        made from the seed fixtures), with the query that finds it."""
        examples = list(super().get_examples())
        view = self.view
        if self.method == "GET" and getattr(view, "action", None) == "list":
            example = _list_examples().get(getattr(view, "basename", ""))
            if example is not None:
                query = f"?{example['query']}" if example["query"] else ""
                examples.append(
                    OpenApiExample(
                        "A record of the seed",
                        summary=f"GET {self.path}{query}",
                        description=f"`curl '{self.path}{query}'` (more in docs/api.md)",
                        value=example["record"],
                        response_only=True,
                        status_codes=["200"],
                    )
                )
        return examples

    def get_auth(self):
        auths = super().get_auth()
        if self.method in SAFE_METHODS:
            auths.append({})  # anyone may read, without credentials
        return auths

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "GET":
            parameters.append(
                OpenApiParameter(
                    "If-None-Match",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="An ETag from an earlier answer: 304 if nothing changed.",
                ),
            )
            parameters.append(
                OpenApiParameter(
                    "as_of",
                    OpenApiTypes.STR,
                    OpenApiParameter.QUERY,
                    description=(
                        "The answer as published at a past moment: a date (`2024-05-01`, the end of "
                        "that day, Brussels time) or a date and time with its offset "
                        "(`2024-05-01T12:00:00Z`). A moment in the future, too recent to be settled or "
                        "before the first recorded change is a 400 (docs/api.md, 'As of a date')."
                    ),
                )
            )
        elif self.method in WRITE_METHODS:
            parameters.append(
                OpenApiParameter(
                    "If-Match",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="The ETag the change is based on: 412 if the record has changed since.",
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in responses.items():
            if not code.startswith("2"):
                continue
            content = response.get("content", {})
            if "text/csv" in content:
                content["text/csv"] = {"schema": {"type": "string", "description": "CSV with a header row."}}
            if "application/xml" in content:  # ?format=iati on the funding list (docs/open-data.md)
                content["application/xml"] = {
                    "schema": {"type": "string", "description": "IATI 2.03 activities."}
                }
            if "content" in response:
                response.setdefault("headers", {})["ETag"] = {
                    "schema": {"type": "string"},
                    "description": "Entity tag of this answer, for If-None-Match (and If-Match on a record).",
                }
        if self.method == "GET":
            responses["304"] = {"description": "Not modified (If-None-Match matched)."}
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._error_response(code)
        return responses

    def _error_codes(self) -> list[str]:
        """The error statuses this operation can answer, in order."""
        codes = ["400", "429"]
        if self.method != "POST" and (self._is_list_view() or "{" in self.path):
            codes.append("404")  # a page past the last, or no such (published) record
        if self.method not in SAFE_METHODS:
            codes += ["401", "403"]
        if self.method in WRITE_METHODS:
            codes.append("412")
        if self.method not in SAFE_METHODS:
            codes.append("409")
        return sorted(codes)

    def _error_response(self, code: str) -> dict:
        name, schema, description = _ERRORS[code]
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
        self.registry.register_on_missing(component)
        response = {
            "content": {"application/json": {"schema": component.ref}},
            "description": description,
        }
        if code == "429":
            response["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
            }
        return response
