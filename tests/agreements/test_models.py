import datetime

import pytest

from agreements.models import STATUS_AFTER_EVENT, Agreement, AgreementKind, AgreementStatus, EventKind
from tests.factories import AgreementEventFactory, AgreementFactory, CountryFactory, DocumentFactory

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
    assert AgreementFactory(stated_status="").current_status_label == "Status not stated"


def test_no_stated_status_and_no_event_means_no_status():
    agreement = AgreementFactory(stated_status="")
    assert agreement.current_status == ""
    assert Agreement.objects.with_current_status().get(pk=agreement.pk).current_status_code == ""
    assert not Agreement.objects.with_current_status().filter(current_status_code="in_force").exists()


def test_concluded_is_its_own_status_not_in_force():
    stated = AgreementFactory(stated_status="concluded")
    dated = AgreementFactory()
    AgreementEventFactory(agreement=dated, kind="concluded", date=datetime.date(2023, 1, 1))
    in_force = AgreementFactory()
    AgreementEventFactory(agreement=in_force, kind="entered_into_force", date=datetime.date(2020, 7, 1))

    assert AgreementStatus.CONCLUDED != AgreementStatus.IN_FORCE
    assert STATUS_AFTER_EVENT[EventKind.CONCLUDED] == AgreementStatus.CONCLUDED
    assert stated.current_status == dated.current_status == "concluded"
    assert stated.current_status_label == "Concluded"
    assert in_force.current_status_label == "In force"
    annotated = Agreement.objects.with_current_status()
    assert set(annotated.filter(current_status_code="concluded")) == {stated, dated}
    assert list(annotated.filter(current_status_code="in_force")) == [in_force]


def test_an_adopted_statement_is_adopted_not_ongoing():
    statement = AgreementFactory(kind="statement")
    AgreementEventFactory(
        agreement=statement, kind="adopted", date=datetime.date(2016, 3, 1), date_precision="month"
    )
    assert statement.current_status == AgreementStatus.ADOPTED
    assert Agreement.objects.with_current_status().get(pk=statement.pk).current_status_code == "adopted"
    assert AgreementStatus.ONGOING not in STATUS_AFTER_EVENT.values()


def test_visa_liberalisation_is_named_as_the_seed_names_it():
    assert AgreementKind.VISA_LIBERALISATION.label == "Cooperation on visa liberalisation"
    assert "dialogue" not in str(AgreementKind.VISA_LIBERALISATION.label)


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


def test_the_parties_a_list_shows_are_the_published_ones_however_they_are_read():
    """``published_parties``: from ``for_public()``'s prefetch, or read when nothing loaded them;
    a draft country is never among them."""
    shown, draft = CountryFactory(), CountryFactory(status="draft")
    agreement = AgreementFactory(parties=[shown, draft])
    assert Agreement.objects.get(pk=agreement.pk).published_parties == [shown]
    prefetched = Agreement.objects.for_public().get(pk=agreement.pk)
    assert prefetched.published_parties == [shown]
