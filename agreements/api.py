"""API endpoints for agreements and arrangements, their timeline events and key documents."""

from __future__ import annotations

from migrationsupport.api import PublishableViewSet

from .filters import AgreementEventFilter, AgreementFilter, DocumentFilter
from .models import Agreement, AgreementEvent, Document
from .serializers import AgreementEventSerializer, AgreementSerializer, DocumentSerializer


class AgreementViewSet(PublishableViewSet):
    """Agreements and arrangements: readmission, visa facilitation, Frontex status agreements..."""

    queryset = Agreement.objects.all()
    serializer_class = AgreementSerializer
    filterset_class = AgreementFilter
    list_select_related = ("source", "region")
    list_prefetch = ("parties", "themes", "events")
    search_fields = ("title", "description")
    ordering_fields = {
        "title": "title",
        "kind": "kind",
        "current_status": "current_status_code",
        "updated_at": "updated_at",
    }

    def base_queryset(self):
        # AgreementFilter's ``status`` filters on the annotated current status.
        return Agreement.objects.with_current_status()


class AgreementEventViewSet(PublishableViewSet):
    """Dated steps in an agreement's life: signed, in force, operations launched, suspended..."""

    queryset = AgreementEvent.objects.all()
    serializer_class = AgreementEventSerializer
    filterset_class = AgreementEventFilter
    lookup_field = "pk"
    lookup_value_regex = "[0-9]+"
    list_select_related = ("source", "agreement")
    published_parents = ("agreement",)
    search_fields = ("description",)
    ordering_fields = ("date", "kind", "updated_at")


class DocumentViewSet(PublishableViewSet):
    """Key policy documents: Joint Communications, Action Plans, the Pact, Council Conclusions..."""

    queryset = Document.objects.all()
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    list_prefetch = ("regions", "countries", "routes", "themes")
    search_fields = ("title", "author", "summary")
    ordering_fields = ("date", "title", "updated_at")
