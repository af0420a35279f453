from __future__ import annotations

from migrationsupport.views import PublishedDetailView

from .models import Agreement, Document


class AgreementDetailView(PublishedDetailView):
    model = Agreement


class DocumentDetailView(PublishedDetailView):
    model = Document
