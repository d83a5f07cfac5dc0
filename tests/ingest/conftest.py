import pytest

from segflow.engines.postgres.db import migrate


@pytest.fixture
def pg_db_template(make_template) -> str:
    return make_template("migrated", migrate)
