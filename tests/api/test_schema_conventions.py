"""Every field of the OpenAPI schema follows the API's conventions (docs/api.md): walked over
drf-spectacular's own generator, so a new field that breaks one fails here."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from migrationsupport.serializers import PARTIAL_DATE_PATTERN

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
AMOUNTS = {"amount", "lower", "upper", "value", "percent"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _response_components(schema):
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request") or name.startswith("Paginated") or "properties" not in component:
            continue
        yield name, component["properties"]


def _refs(prop) -> set[str]:
    return {item.get("$ref", "").rsplit("/", 1)[-1] for item in prop.get("oneOf", prop.get("allOf", []))}


def test_every_read_documents_as_of_and_no_write_does(schema):
    """``?as_of=`` works on every public read (migrationsupport/asof.py); a write with it is 405."""
    reads, writes = [], []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
            (reads if method == "get" else writes).append((path, method, ("as_of", "query") in names))
    assert len(reads) > 20
    assert [read for read in reads if not read[2]] == []
    assert [write for write in writes if write[2]] == []


def test_the_schema_has_the_records(schema):
    names = dict(_response_components(schema))
    assert {"FundingRecord", "Country", "Agreement", "Document", "FundingTotal"} <= set(names)


def test_every_field_follows_the_conventions(schema):
    problems = []
    for component, properties in _response_components(schema):
        for name, prop in properties.items():
            where = f"{component}.{name}"
            if not SNAKE_CASE.fullmatch(name):
                problems.append(f"{where}: not snake_case")
            if name.endswith("_date_date") or (name.endswith("date") and prop.get("type") == "object"):
                problems.append(f"{where}: a date is a string, never an object")
            if prop.get("pattern") == PARTIAL_DATE_PATTERN:
                for part in ("precision", "display"):
                    if f"{name}_{part}" not in properties:
                        problems.append(f"{where}: a partial date without {name}_{part} beside it")
            if prop.get("format") == "date":
                problems.append(f"{where}: a full date: partial dates say only what is known")
            if name in AMOUNTS and prop.get("type") not in ("number", "integer"):
                problems.append(f"{where}: an amount is a JSON number")
            if name.endswith("_html") and prop.get("format") != "html":
                problems.append(f"{where}: HTML typed as a plain string")
            if prop.get("format") == "html":
                if not (name.endswith("_html") or prop.get("deprecated")):
                    problems.append(f"{where}: HTML not named <name>_html")
                if f"{name.removesuffix('_html')}_text" not in properties:
                    problems.append(f"{where}: rich text without its plain text")
            may_be_blank = "" in prop.get("enum", []) or "BlankEnum" in _refs(prop)
            may_be_null = None in prop.get("enum", []) or "NullEnum" in _refs(prop) or prop.get("nullable")
            if may_be_blank and not may_be_null:
                problems.append(f"{where}: may be empty, so must be nullable")
            derived = name.endswith(("_display", "_text", "_precision"))
            if prop.get("readOnly") and prop.get("type") == "string" and derived and not may_be_null:
                problems.append(f"{where}: absent is possible, so nullable")
    assert problems == []


def test_deprecated_fields_are_marked_and_come_last(schema):
    for component, properties in _response_components(schema):
        names = list(properties)
        deprecated = [name for name in names if properties[name].get("deprecated")]
        if deprecated:
            assert names[-len(deprecated) :] == deprecated, component
        # A text made for people is <what>_display, never a bare "display" (but a 1.0 alias).
        assert "display" not in names or properties["display"].get("deprecated"), component
    components = dict(_response_components(schema))
    funding = components["FundingRecord"]
    assert funding["display"]["deprecated"] and funding["description"]["deprecated"]
    totals = components["FundingTotal"]
    assert totals["amount"]["deprecated"] and totals["qualifier"]["deprecated"]


def test_the_docs_show_reads_first_with_an_example_per_list_and_writes_apart(schema):
    tags = [tag["name"] for tag in schema["tags"]]
    assert tags[-1] == "staff writes"
    lists = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "head"):
                assert operation["tags"] != ["staff writes"], path
                assert operation["tags"][0] in tags[:-1], path
            else:
                assert operation["tags"] == ["staff writes"], (method, path)
            if method == "get" and "{" not in path and not path.endswith("/totals/"):
                lists += 1
                examples = operation["responses"]["200"]["content"]["application/json"].get("examples")
                assert examples, f"{path}: no example"
    assert lists == 14  # the 13 record types and the change feed
