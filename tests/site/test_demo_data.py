import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from agreements.models import Agreement, Document
from funding.models import Fulfilment, FundingRecord, PledgingConference
from migrationsupport.models import Source
from tests.factories import CountryFactory, FundingRecordFactory, InstrumentFactory, ThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    country = CountryFactory()
    ThemeFactory()
    InstrumentFactory()
    return FundingRecordFactory(regions=[country.region], slug="real-record")


def test_generates_published_synthetic_records_that_respect_the_model_rules(world):
    call_command("generate_demo_data", funding=60, verbosity=0)
    synthetic = FundingRecord.objects.filter(source__slug="synthetic-demo-data")
    assert synthetic.count() == 60
    assert synthetic.published().count() == 60
    assert Agreement.objects.filter(slug__startswith="synthetic-").count() == 3
    assert Document.objects.filter(slug__startswith="synthetic-").count() == 3
    assert synthetic.filter(regions__isnull=True).count() == 0
    for parent in synthetic.filter(children__isnull=False).distinct():
        assert parent.children.aggregate(total=Sum("amount"))["total"] <= parent.amount
    for record in synthetic[:10]:
        record.full_clean()


def test_delete_removes_exactly_what_it_added(world):
    before = {m: m.objects.count() for m in (FundingRecord, Agreement, Document, Source)}
    call_command("generate_demo_data", funding=40, verbosity=0)
    call_command("generate_demo_data", funding=40, verbosity=0)
    assert FundingRecord.objects.count() == before[FundingRecord] + 80
    call_command("generate_demo_data", delete=True, verbosity=0)
    assert {m: m.objects.count() for m in before} == before
    assert FundingRecord.objects.filter(slug="real-record").exists()


def test_needs_the_seed_first():
    with pytest.raises(CommandError):
        call_command("generate_demo_data", funding=10, verbosity=0)


def test_demo_agreements_go_through_every_status_and_kind_of_step(world):
    from agreements.lifecycle import AgreementStatus, EventKind
    from agreements.models import AgreementEvent
    from agreements.selectors import agreements_with_gaps, events_off_the_lifecycle

    call_command("generate_demo_data", funding=400, verbosity=0)  # 20 agreements
    synthetic = Agreement.objects.filter(slug__startswith="synthetic-")
    statuses = set(synthetic.for_public().values_list("current_status_code", flat=True))
    kinds = set(AgreementEvent.objects.filter(agreement__in=synthetic).values_list("kind", flat=True))
    # Every status (and "not stated") is someone's current status; resumed leads back to in force.
    assert statuses == {*AgreementStatus.values, ""}
    assert kinds == set(EventKind.values)
    off = events_off_the_lifecycle().filter(agreement__in=synthetic)
    assert off.exclude(transition_note="").exists() and off.filter(transition_note="").exists()
    gaps = agreements_with_gaps(synthetic)
    assert gaps.filter(missing_references=True).exists() and gaps.filter(has_events=False).exists()
    for event in AgreementEvent.objects.filter(agreement__in=synthetic, transition_note="").exclude(
        pk__in=off
    ):
        event.full_clean()


def test_pledges_are_followed_through_in_every_state(world):
    call_command("generate_demo_data", funding=400, verbosity=0)
    links = Fulfilment.objects.select_related("fulfilled", "fulfilling")
    assert links.count() > 20
    for fulfilment in links:
        fulfilment.full_clean()  # the model's rules: measures in order, donor scope
    measures = {(f.fulfilled.measure, f.fulfilling.measure) for f in links}
    assert {("pledged", "committed"), ("committed", "paid")} <= measures
    assert links.filter(source__isnull=True).exists() and links.filter(status="draft").exists()
    pledges = FundingRecord.objects.filter(source__slug="synthetic-demo-data", measure="pledged")
    assert pledges.with_follow_up().exists()
    assert pledges.exclude(pk__in=pledges.with_follow_up().values("pk")).exists()  # none reported
    assert PledgingConference.objects.filter(slug__startswith="synthetic-", pledges__isnull=False).exists()
    call_command("generate_demo_data", delete=True, verbosity=0)
    assert not Fulfilment.objects.exists()
    assert not PledgingConference.objects.filter(slug__startswith="synthetic-").exists()
