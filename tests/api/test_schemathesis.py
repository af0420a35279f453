"""Property-based tests of the live API against its own OpenAPI schema (schemathesis).

Every operation is called with generated valid and invalid input, anonymously: reads must
answer without a server error and as the schema says (status code, content type, headers,
body); writes must be refused. Bounded so the whole run stays well under a minute.
"""

from __future__ import annotations

import datetime

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from migrationsupport.models import Status
from migrationsupport.wsgi import application
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    PledgingConferenceFactory,
    PopulationFigureFactory,
    RegionFactory,
    ThemeFactory,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(db, settings):
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    # Hundreds of anonymous requests in a few seconds: throttling has its own test.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "100000/min"}}
    region = RegionFactory(slug="south")
    country = CountryFactory(iso_code="TR", region=region)
    parent = FundingRecordFactory(
        slug="package", regions=[region], countries=[country], themes=[ThemeFactory()]
    )
    FundingRecordFactory(
        slug="part",
        parent=parent,
        amount=1,
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
    )
    FundingRecordFactory(slug="draft", status=Status.DRAFT)
    AgreementEventFactory(agreement=AgreementFactory(slug="agreement", parties=[country]))
    DocumentFactory(slug="document")
    PopulationFigureFactory(slug="population", country=country)
    PledgingConferenceFactory(slug="conference")
    # Requests go straight to the WSGI app, not through Django's test client: keep the test's
    # database connection (and its transaction) open across them, as the test client does.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# A record that exists for each detail path, so details are checked too (not only 404s).
KNOWN = {
    "/api/v1/funding/{slug}/": {"slug": "package"},
    "/api/v1/countries/{iso_code}/": {"iso_code": "tr"},
    "/api/v1/regions/{slug}/": {"slug": "south"},
    "/api/v1/agreements/{slug}/": {"slug": "agreement"},
    "/api/v1/documents/{slug}/": {"slug": "document"},
    "/api/v1/population-figures/{slug}/": {"slug": "population"},
    "/api/v1/conferences/{slug}/": {"slug": "conference"},
}


def test_api_conforms_to_its_schema(api_schema):
    """Schemathesis 4's pytest loader does not run under pytest 9 yet, so each operation gets
    its own Hypothesis test here; failures are gathered and reported together."""
    failures = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 25
    for operation in operations:
        strategies = [
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ]
        if operation.path in KNOWN:
            strategies.append(operation.as_strategy(path_parameters=KNOWN[operation.path]))

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        def check(case):
            response = case.call_and_validate(checks=CHECKS)
            if case.method != "GET":  # anonymous writes are refused
                assert response.status_code in (400, 401, 404, 405), response.text

        try:
            check()
        except Exception as exc:
            failures[operation.label] = exc
    assert not failures, "\n\n".join(f"{label}: {exc}" for label, exc in failures.items())
