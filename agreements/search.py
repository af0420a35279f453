"""Agreements' record types in the site search (registered in ``AgreementsConfig.ready()``)."""

from __future__ import annotations

from migrationsupport.search import RecordType, plain

from .models import Agreement, Document

RECORD_TYPES = (
    RecordType(
        "Agreements and arrangements",
        lambda: Agreement.objects.published().with_current_status(),
        "title",
        (),
        summary=lambda a: f"{a.get_kind_display()} – {a.current_status_label}",
        position=40,
        # An agreement's description is the source's passage about it, often one passage for a
        # dozen agreements (the seed's Eastern Partnership paragraph names six countries).
        shared_text_fields=("description",),
        country_code_field="parties__iso_code",
        country_list=("agreements:agreement-list", "the list of agreements"),
        document_column="search_document",
        sentence_titles=True,
    ),
    RecordType(
        "Key documents",
        lambda: Document.objects.published(),
        "title",
        ("summary", "author"),
        summary=lambda d: " – ".join(
            str(part) for part in (d.get_kind_display(), d.date_display, plain(d.summary, 25)) if part
        ),
        position=50,
        document_column="search_document",
        sentence_titles=True,
    ),
)
