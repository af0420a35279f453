"""The DCAT-AP catalogue entry (Turtle and JSON-LD at stable addresses, linked from every page),
checked with pyshacl against shapes written from DCAT-AP 3.0.0; the schema.org Dataset markup."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF

from migrationsupport.models import Status
from tests.factories import AgreementEventFactory, CountryFactory, FundingRecordFactory

pytestmark = pytest.mark.django_db

SHAPES = Graph().parse(Path(__file__).resolve().parent / "shapes" / "dcat-ap-3.0.0.ttl", format="turtle")
VCARD = "http://www.w3.org/2006/vcard/ns#"
# An open namespace: rdflib's closed DCAT warns about every name it lacks, and pytest's collection
# probes the module's objects for names of its own ("_mock_name is not defined in namespace DCAT").
DCAT = Namespace("http://www.w3.org/ns/dcat#")


@pytest.fixture
def published():
    CountryFactory(iso_code="TR")
    CountryFactory(iso_code="RS")
    CountryFactory(iso_code="ME", status=Status.DRAFT)
    FundingRecordFactory(period_start=datetime.date(2011, 1, 1), period_start_precision="year")
    FundingRecordFactory(
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
        period_end=datetime.date(2025, 1, 1),
        period_end_precision="year",
    )
    AgreementEventFactory(date=datetime.date(2023, 4, 1), date_precision="month")


def catalogue(client, fmt: str) -> Graph:
    response = client.get(f"/data/catalogue.{fmt}")
    assert response.status_code == 200
    return Graph().parse(data=response.content, format="turtle" if fmt == "ttl" else "json-ld")


def conforms(graph: Graph) -> tuple[bool, str]:
    ok, _report, text = validate(graph, shacl_graph=SHAPES, inference="none")
    return ok, text


@pytest.mark.parametrize("fmt", ["ttl", "jsonld"])
def test_the_catalogue_entry_conforms_to_the_dcat_ap_shapes(client, published, fmt):
    graph = catalogue(client, fmt)
    ok, text = conforms(graph)
    assert ok, text
    dataset = URIRef("http://testserver/data/#dataset")
    assert (dataset, RDF.type, DCAT.Dataset) in graph
    publisher = graph.value(dataset, DCTERMS.publisher)
    assert "DG NEAR" in str(graph.value(publisher, FOAF.name))
    formats = {
        str(graph.value(d, DCTERMS.format)).rsplit("/", 1)[1]
        for d in graph.objects(dataset, DCAT.distribution)
    }
    assert formats == {"CSV", "JSON", "XML", "ZIP"}
    licences = {graph.value(d, DCTERMS.license) for d in graph.objects(dataset, DCAT.distribution)}
    assert licences == {URIRef("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0")}


def test_coverage_is_read_from_the_published_records(client, published):
    graph = catalogue(client, "ttl")
    dataset = URIRef("http://testserver/data/#dataset")
    period = graph.value(dataset, DCTERMS.temporal)
    # From the first day of "2011" to the last day of "2025".
    assert graph.value(period, DCAT.startDate).toPython() == datetime.date(2011, 1, 1)
    assert graph.value(period, DCAT.endDate).toPython() == datetime.date(2025, 12, 31)
    spatial = {str(s).rsplit("/", 1)[1] for s in graph.objects(dataset, DCTERMS.spatial)}
    assert spatial == {"TUR", "SRB"}  # ISO alpha-3 from pycountry; not the draft Montenegro


def test_the_contact_point_is_the_configured_one(client, published, settings):
    settings.DATA_CONTACT_EMAIL = "open-data@example.org"
    settings.DATA_CONTACT_URL = "https://example.org/contact"
    graph = catalogue(client, "ttl")
    point = graph.value(URIRef("http://testserver/data/#dataset"), DCAT.contactPoint)
    assert graph.value(point, URIRef(f"{VCARD}hasEmail")) == URIRef("mailto:open-data@example.org")
    assert graph.value(point, URIRef(f"{VCARD}hasURL")) == URIRef("https://example.org/contact")


def test_a_catalogue_missing_a_mandatory_property_fails_the_shapes(client, published):
    graph = catalogue(client, "ttl")
    dataset = URIRef("http://testserver/data/#dataset")
    graph.remove((dataset, DCTERMS.title, None))
    assert not conforms(graph)[0]
    graph = catalogue(client, "ttl")
    for distribution in graph.objects(dataset, DCAT.distribution):
        graph.remove((distribution, DCAT.accessURL, None))
        break
    assert not conforms(graph)[0]
    graph = catalogue(client, "ttl")
    graph.add((URIRef("http://testserver/data/#catalogue"), DCTERMS.publisher, Literal("Someone else")))
    assert not conforms(graph)[0]


def test_pages_link_the_catalogue_and_carry_schema_org_dataset(client, published):
    for path in ("/", "/data/"):
        page = client.get(path).content.decode()
        assert 'type="text/turtle"' in page and "/data/catalogue.ttl" in page
        found = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
        assert len(found) == 1, path
        dataset = json.loads(found[0])
        assert dataset["@type"] == "Dataset"
        assert dataset["license"] == "https://creativecommons.org/licenses/by/4.0/"
        assert {d["encodingFormat"] for d in dataset["distribution"]} >= {"text/csv", "application/xml"}
    assert "/data/" in client.get("/funding/").content.decode()  # the footer links the data page
