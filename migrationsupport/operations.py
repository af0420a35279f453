"""Migration operations shared by the apps."""

from __future__ import annotations

from django.db.migrations.operations import AddIndex


class AddIndexOnPostgreSQL(AddIndex):
    """``AddIndex`` for PostgreSQL-only index syntax (GIN, ``DESC NULLS LAST`` columns): skipped on
    the SQLite used for local runs, which rejects both.

    The model state changes on every database, so ``makemigrations --check`` stays clean.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
