from tests.graphql.conftest import _sandbox_host, staff_user, staff_without_permission  # noqa: F401
