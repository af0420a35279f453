"""The agreement lifecycle: the state machine, step order with partial dates, and the current status."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from agreements.lifecycle import (
    ALLOWED_NEXT,
    STATUS_AFTER_EVENT,
    AgreementStatus,
    EventKind,
    check_sequence,
    period_end,
    status_periods,
    transition_error,
)
from agreements.models import Agreement, AgreementEvent
from agreements.selectors import agreements_with_gaps, events_off_the_lifecycle
from tests.factories import AgreementEventFactory, AgreementFactory, SourceFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def event(agreement, kind, date, precision="day", **kwargs):
    return AgreementEventFactory(
        agreement=agreement, kind=kind, date=date, date_precision=precision, **kwargs
    )


def test_the_main_path_is_allowed_step_by_step():
    path = [
        EventKind.MANDATE_ADOPTED,
        EventKind.NEGOTIATIONS_OPENED,
        EventKind.INITIALLED,
        EventKind.SIGNED,
        EventKind.PROVISIONALLY_APPLIED,
        EventKind.ENTERED_INTO_FORCE,
        EventKind.PARTIALLY_SUSPENDED,
        EventKind.SUSPENDED,
        EventKind.TERMINATED,
    ]
    status = None
    for kind in path:
        assert transition_error(status, kind) is None, (status, kind)
        status = STATUS_AFTER_EVENT[kind]
    assert status == AgreementStatus.TERMINATED
    assert ALLOWED_NEXT[AgreementStatus.TERMINATED] == frozenset()


def test_every_status_an_event_leads_to_has_its_next_steps_defined():
    assert set(STATUS_AFTER_EVENT.values()) <= set(ALLOWED_NEXT)


def test_a_step_out_of_order_says_what_was_expected():
    message = str(transition_error(AgreementStatus.SIGNED, EventKind.OPERATIONS_LAUNCHED))
    assert "“Operations launched” does not follow “Signed”" in message
    assert "Entered into force" in message and "why this step does not follow" in message
    assert transition_error(AgreementStatus.TERMINATED, EventKind.RESUMED) is not None
    assert transition_error(None, EventKind.RESUMED) is not None  # nothing to resume


def test_the_admin_refuses_a_skipped_step_without_a_reason_and_accepts_it_with_one():
    agreement = AgreementFactory()
    event(agreement, "signed", D(2022, 10, 1), "month")
    skipped = AgreementEvent(
        agreement=agreement,
        kind="operations_launched",
        date=D(2023, 4, 1),
        date_precision="month",
        source=SourceFactory(),
    )
    with pytest.raises(ValidationError) as error:
        skipped.full_clean()
    assert "does not follow" in str(error.value.message_dict["kind"])

    skipped.transition_note = "The source gives the signature and the launch of operations only."
    skipped.full_clean()


def test_a_step_inserted_before_a_later_one_must_still_let_it_follow():
    agreement = AgreementFactory()
    event(agreement, "entered_into_force", D(2020, 7, 1))
    event(agreement, "partially_suspended", D(2021, 11, 9))
    # A termination dated between them would leave "partially suspended" after "terminated".
    inserted = AgreementEvent(
        agreement=agreement,
        kind="terminated",
        date=D(2021, 1, 1),
        date_precision="day",
        source=SourceFactory(),
    )
    with pytest.raises(ValidationError):
        inserted.full_clean()


def test_a_month_only_date_sorts_as_its_month_and_a_tie_is_put_in_lifecycle_order():
    agreement = AgreementFactory()
    signed = event(agreement, "signed", D(2022, 10, 1), "month")  # some day in October 2022
    in_force = event(agreement, "entered_into_force", D(2022, 10, 1), "day")  # 1 October 2022
    later = event(agreement, "operations_launched", D(2022, 11, 1), "month")

    periods = status_periods([later, in_force, signed])
    assert [p.status for p in periods] == ["signed", "in_force", "operational"]
    # The dates do not say whether "in force" came after "signed" (the same month); they do
    # say that November comes after 1 October.
    assert [p.tie for p in periods] == [False, True, False]
    assert [c.error for c in check_sequence([signed, in_force, later])] == [None, None, None]


def test_the_current_status_is_the_latest_step_in_python_and_in_sql_alike():
    agreement = AgreementFactory(stated_status="")
    # Stored in reverse lifecycle order (a higher pk for the earlier step) on the same day.
    event(agreement, "suspended", D(2021, 3, 5))
    event(agreement, "entered_into_force", D(2021, 3, 5))
    assert agreement.current_status == AgreementStatus.SUSPENDED
    annotated = Agreement.objects.with_current_status().get(pk=agreement.pk)
    assert annotated.current_status_code == AgreementStatus.SUSPENDED


def test_a_lifecycle_period_starts_at_the_first_recorded_step_and_nothing_is_invented():
    agreement = AgreementFactory(stated_status="")
    event(agreement, "signed", D(2019, 1, 1), "year")
    periods = status_periods(agreement.events.all())
    assert len(periods) == 1 and periods[0].end_event is None
    assert period_end(D(2019, 1, 1), "year") == D(2019, 12, 31)
    assert period_end(D(2024, 2, 1), "month") == D(2024, 2, 29)
    assert period_end(D(2024, 2, 10), "day") == D(2024, 2, 10)


def test_officers_see_what_is_missing():
    skipped = AgreementFactory(title="Skipped")
    event(skipped, "signed", D(2022, 10, 1), "month", official_reference="22022A1001(01)")
    event(skipped, "operations_launched", D(2023, 4, 1), "month")
    explained = AgreementFactory(title="Explained")
    event(explained, "signed", D(2022, 10, 1), official_reference="OJ L 128, 30.4.2014, p. 15")
    event(explained, "operations_launched", D(2023, 4, 1), transition_note="The source skips it.")
    unreferenced = AgreementFactory(title="Unreferenced")
    event(unreferenced, "entered_into_force", D(2020, 7, 1))
    stated = AgreementFactory(title="Stated", stated_status="concluded")
    nothing = AgreementFactory(title="Nothing", stated_status="")

    assert set(events_off_the_lifecycle().values_list("agreement__title", flat=True)) == {
        "Skipped",
        "Explained",
    }
    rows = {a.title: a for a in agreements_with_gaps(Agreement.objects.all())}
    assert rows["Skipped"].unexplained_skips and not rows["Explained"].unexplained_skips
    assert not rows["Skipped"].missing_references and rows["Unreferenced"].missing_references
    assert not rows[stated.title].has_events and not rows[nothing.title].has_events


def test_editing_a_step_is_not_refused_for_a_later_step_already_out_of_order():
    agreement = AgreementFactory()
    opened = event(agreement, "negotiations_opened", D(2019, 1, 1))
    event(agreement, "signed", D(2020, 1, 1))  # already out of order, no reason yet
    opened.official_reference = ""
    opened.description = "corrected"
    opened.full_clean()
