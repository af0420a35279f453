"""Numbered notes on a page: the seed's note on Belarus, shown wherever Belarus appears.

A country's ``cooperation_note`` is content. Every page gets one ``Footnotes`` in its context;
templates call ``reference`` beside a country's name (or ``mark`` over officer-entered text
that names it), and the page ends with the notes that were referenced, each with back-links
to the places that cite it. Notes are numbered in the order they are first cited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

_TAG = re.compile(r"(<[^>]*>)")


class NotedCountry(Protocol):
    """What a note needs of a country (``regions.models.Country``, which this layer does not import)."""

    @property
    def iso_code(self) -> str: ...

    @property
    def cooperation_note(self) -> str: ...


@dataclass
class Note:
    number: int
    country: NotedCountry
    references: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"note-{self.country.iso_code.lower()}"

    @property
    def text(self) -> str:
        return self.country.cooperation_note


class Footnotes:
    def __init__(self, noted_records: Callable[[], Iterable] | None = None):
        # Called at most once, and only when officer text has to be scanned for names.
        self._noted_records = noted_records
        self._candidates: list | None = None
        self._notes: dict[int, Note] = {}

    @property
    def used(self) -> list[Note]:
        return sorted(self._notes.values(), key=lambda note: note.number)

    def reference(self, country) -> SafeString:
        """The superscript link to the country's note, or nothing when it has none."""
        if country is None or not getattr(country, "cooperation_note", "") or not country.is_published:
            return mark_safe("")
        note = self._notes.get(country.pk)
        if note is None:
            note = self._notes[country.pk] = Note(number=len(self._notes) + 1, country=country)
        ref_id = f"ref-{country.iso_code.lower()}-{len(note.references) + 1}"
        note.references.append(ref_id)
        return format_html(
            '<sup class="note-ref"><a href="#{}" id="{}">'
            '<span class="visually-hidden">Note </span>{}</a></sup>',
            note.anchor,
            ref_id,
            note.number,
        )

    def mark(self, html: str) -> SafeString:
        """Add a reference after the first mention of each noted country in sanitised HTML.

        Only text outside links is considered, so a reference never nests inside another link.
        """
        if self._candidates is None:
            self._candidates = list(self._noted_records()) if self._noted_records else []
        remaining = list(self._candidates)
        parts = _TAG.split(str(html))
        in_link = 0
        for index, part in enumerate(parts):
            if part.startswith("<"):
                if re.match(r"<a[\s>]", part):
                    in_link += 1
                elif part.startswith("</a"):
                    in_link = max(0, in_link - 1)
                continue
            if in_link or not remaining:
                continue
            for country in list(remaining):
                pattern = re.compile(rf"\b{re.escape(country.name)}\b")
                match = pattern.search(part)
                if match is None:
                    continue
                remaining.remove(country)
                # A literal marker the source carries ("Belarus[1]", "Belarus<sup>[1]</sup>") gives
                # way to the live reference.
                rest = part[match.end() :]
                literal = re.match(r"\s*\[\d+\]", rest)
                if literal:
                    rest = rest[literal.end() :]
                elif not rest:
                    self._drop_sup(parts, index + 1)
                part = part[: match.end()] + str(self.reference(country)) + rest
            parts[index] = part
        return mark_safe("".join(parts))  # noqa: S308 - input is sanitised HTML; we add our own tags only

    @staticmethod
    def _drop_sup(parts: list[str], start: int) -> None:
        """Blank a following ``<sup>[n]</sup>`` (three parts: tag, text, tag)."""
        if (
            start + 2 < len(parts)
            and parts[start].startswith("<sup")
            and re.fullmatch(r"\s*\[\d+\]\s*", parts[start + 1])
            and parts[start + 2].startswith("</sup")
        ):
            parts[start] = parts[start + 1] = parts[start + 2] = ""
