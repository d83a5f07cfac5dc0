import pytest

from tests.templates import store


@pytest.fixture
def pg_db_template(make_template) -> str:
    return make_template("templates_store", store.load)
