import pytest

from tests.factories import SourceFactory


@pytest.fixture
def source(db):
    return SourceFactory()
