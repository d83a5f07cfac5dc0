import pytest

from tests.compiler import store_data


@pytest.fixture
def pg_db_template(make_template) -> str:
    return make_template("compiler_store", store_data.load)
