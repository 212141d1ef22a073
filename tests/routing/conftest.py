from tests.dispatch.conftest import in_process_venue  # noqa: F401  (fixture)
