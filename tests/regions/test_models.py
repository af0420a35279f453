import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from regions.models import LIST_NOT_GIVEN, CandidateStatus, CooperationStatus, Country, PopulationFigure
from tests.factories import CountryFactory, PopulationFigureFactory, RegionFactory

pytestmark = pytest.mark.django_db


def test_iso_code_is_unique_and_two_capital_letters():
    CountryFactory(iso_code="BY")
    with pytest.raises(IntegrityError), transaction.atomic():
        CountryFactory(iso_code="BY")
    with pytest.raises(IntegrityError), transaction.atomic():
        CountryFactory(iso_code="by")


def test_unknown_shape_of_country_code_gets_a_field_error():
    country = CountryFactory.build(iso_code="BLR", source=CountryFactory().source, region=None)
    with pytest.raises(ValidationError) as excinfo:
        country.full_clean()
    assert "iso_code" in excinfo.value.message_dict


def test_only_a_member_can_withdraw_from_the_eastern_partnership():
    with pytest.raises(IntegrityError), transaction.atomic():
        CountryFactory(
            eastern_partnership_left=datetime.date(2021, 6, 1), eastern_partnership_left_precision="month"
        )


def test_belarus_withdrawal_and_suspension_render_as_the_seed_says():
    belarus = CountryFactory(
        name="Belarus",
        iso_code="BY",
        eastern_partnership_member=True,
        eastern_partnership_left=datetime.date(2021, 6, 1),
        eastern_partnership_left_precision="month",
        cooperation_status="suspended",
        cooperation_suspended_since=datetime.date(2020, 1, 1),
        cooperation_suspended_since_precision="year",
    )
    belarus.full_clean()
    assert str(belarus.partial_date("eastern_partnership_left")) == "June 2021"
    assert str(belarus.partial_date("cooperation_suspended_since")) == "2020"
    assert not belarus.is_eastern_partnership_participant
    assert belarus.get_absolute_url() == "/countries/by/"


def test_suspension_date_requires_suspended_status():
    country = CountryFactory()
    country.cooperation_suspended_since = datetime.date(2020, 1, 1)
    country.cooperation_suspended_since_precision = "year"
    with pytest.raises(ValidationError) as excinfo:
        country.full_clean()
    assert "cooperation_suspended_since" in excinfo.value.message_dict


def test_region_cannot_be_inside_itself():
    parent = RegionFactory()
    child = RegionFactory(parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError):
        parent.full_clean()


def test_population_figure_renders_with_qualifier():
    figure = PopulationFigureFactory(
        value=3_100_000, qualifier="about", wording="around", group="refugees from Syria"
    )
    assert str(figure.quantity) == "around 3.1\u00a0million"


def test_negative_population_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        PopulationFigureFactory(value=-1)


def test_country_statuses_default_to_not_stated():
    assert Country._meta.get_field("candidate_status").default == CandidateStatus.NOT_STATED
    assert Country._meta.get_field("cooperation_status").default == CooperationStatus.NOT_STATED
    country = CountryFactory()
    country.refresh_from_db()
    assert (country.candidate_status, country.cooperation_status) == ("not_stated", "not_stated")
    assert not country.candidate_status_stated and not country.cooperation_status_stated
    assert country.get_candidate_status_display() == country.get_cooperation_status_display() == "Not stated"
    country.full_clean()


def test_a_stated_status_is_stated():
    country = CountryFactory(candidate_status="candidate", cooperation_status="active")
    assert country.candidate_status_stated and country.cooperation_status_stated


def test_suspension_date_is_refused_for_an_unstated_cooperation_status():
    with pytest.raises(IntegrityError), transaction.atomic():
        CountryFactory(
            cooperation_suspended_since=datetime.date(2020, 1, 1),
            cooperation_suspended_since_precision="year",
        )


def test_population_origins_are_exhaustive_unless_the_source_says_including():
    assert PopulationFigureFactory().origins_non_exhaustive is False
    assert PopulationFigureFactory(origins_non_exhaustive=True).origins_non_exhaustive is True


@pytest.mark.parametrize(
    "body",
    [
        "<p>Channelled through two main financing instruments:</p>",
        "<p>NDICI programmes in this area include: </p><p>Finally, more.</p>",
    ],
)
def test_a_region_text_cannot_end_a_paragraph_in_a_bare_colon(body):
    region = RegionFactory.build(source=RegionFactory().source, body=body)
    with pytest.raises(ValidationError) as excinfo:
        region.full_clean()
    assert LIST_NOT_GIVEN in excinfo.value.message_dict["body"][0]


@pytest.mark.parametrize(
    "body",
    [
        f"<p>Channelled through two main financing instruments: <em>{LIST_NOT_GIVEN}</em></p>",
        "<p>Channelled through two main financing instruments:</p><ul><li>NDICI</li><li>IPA</li></ul>",
        "<p>Priorities: migration and mobility.</p>",
    ],
)
def test_a_region_text_that_gives_its_list_or_says_it_is_not_given_is_valid(body):
    RegionFactory.build(source=RegionFactory().source, body=body).full_clean()


def test_the_origins_a_page_shows_are_the_published_ones_however_they_are_read():
    shown, draft = CountryFactory(), CountryFactory(status="draft")
    figure = PopulationFigureFactory()
    figure.origins.set([shown, draft])
    assert PopulationFigure.objects.get(pk=figure.pk).published_origins == [shown]
    assert PopulationFigure.objects.for_public().get(pk=figure.pk).published_origins == [shown]
