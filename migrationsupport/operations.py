"""Migration operations shared by the apps."""

from __future__ import annotations

from contextlib import contextmanager

from django.contrib.postgres.indexes import GinIndex
from django.db.migrations.operations import AddConstraint, AddField, AddIndex, RemoveIndex
from django.db.models import OrderBy


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


class RemoveIndexOnPostgreSQL(RemoveIndex):
    """``RemoveIndex`` of an index ``AddIndexOnPostgreSQL`` made: SQLite never had it."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def postgresql_only(index) -> bool:
    """An index SQLite cannot create: a GIN index or a ``DESC NULLS LAST`` column."""
    if isinstance(index, GinIndex):
        return True
    return any(
        isinstance(expression, OrderBy) and (expression.nulls_first or expression.nulls_last)
        for expression in index.expressions
    )


@contextmanager
def _without_postgresql_indexes(*models):
    """SQLite rebuilds a table to add a NOT NULL column or a constraint, creating every index of
    the model's state, including those ``AddIndexOnPostgreSQL`` never made: leave them out."""
    saved = [(model, model._meta.indexes) for model in models]
    for model in models:
        model._meta.indexes = [index for index in model._meta.indexes if not postgresql_only(index)]
    try:
        yield
    finally:
        for model, indexes in saved:
            model._meta.indexes = indexes


class _RebuildsOnSQLite:
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        models = (
            from_state.apps.get_model(app_label, self.model_name),
            to_state.apps.get_model(app_label, self.model_name),
        )
        with _without_postgresql_indexes(*models):
            # The operation looks its models up again: the same objects, cached by the state's apps.
            return super().database_forwards(app_label, schema_editor, from_state, to_state)


class AddFieldKeepingSQLite(_RebuildsOnSQLite, AddField):
    """``AddField`` that also runs on the SQLite of local runs (see ``_without_postgresql_indexes``)."""


class AddConstraintKeepingSQLite(_RebuildsOnSQLite, AddConstraint):
    """``AddConstraint`` that also runs on the SQLite of local runs."""
