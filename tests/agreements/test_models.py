import datetime

import pytest

from agreements.models import Agreement, AgreementStatus
from tests.factories import AgreementEventFactory, AgreementFactory, DocumentFactory

pytestmark = pytest.mark.django_db


def test_current_status_follows_the_latest_event():
    agreement = AgreementFactory(title="Visa facilitation agreement with Belarus")
    AgreementEventFactory(
        agreement=agreement, kind="entered_into_force", date=datetime.date(2020, 7, 1), date_precision="day"
    )
    AgreementEventFactory(
        agreement=agreement, kind="partially_suspended", date=datetime.date(2021, 11, 9), date_precision="day"
    )
    assert agreement.current_status == AgreementStatus.PARTIALLY_SUSPENDED
    annotated = Agreement.objects.with_current_status().get(pk=agreement.pk)
    assert annotated.current_status == AgreementStatus.PARTIALLY_SUSPENDED


def test_draft_events_do_not_change_the_public_status():
    agreement = AgreementFactory()
    AgreementEventFactory(agreement=agreement, kind="signed", date=datetime.date(2022, 10, 1))
    AgreementEventFactory(
        agreement=agreement, kind="suspended", date=datetime.date(2024, 1, 1), status="draft"
    )
    assert agreement.current_status == AgreementStatus.SIGNED
    assert (
        Agreement.objects.with_current_status().get(pk=agreement.pk).current_status == AgreementStatus.SIGNED
    )


def test_stated_status_when_no_event_is_known():
    agreement = AgreementFactory(stated_status="in_force")
    assert Agreement.objects.with_current_status().get(pk=agreement.pk).current_status == "in_force"
    assert AgreementFactory(stated_status="").current_status_label == "Status not recorded"


def test_filtering_by_current_status_in_the_database():
    north_macedonia = AgreementFactory()
    AgreementEventFactory(agreement=north_macedonia, kind="signed", date=datetime.date(2022, 10, 1))
    AgreementEventFactory(
        agreement=north_macedonia, kind="operations_launched", date=datetime.date(2023, 4, 1)
    )
    AgreementFactory(stated_status="in_force")
    operational = Agreement.objects.with_current_status().filter(current_status_code="operational")
    assert list(operational) == [north_macedonia]


def test_document_month_date_renders_without_a_day():
    document = DocumentFactory(date=datetime.date(2024, 3, 1), date_precision="month")
    assert str(document.date_display) == "March 2024"
