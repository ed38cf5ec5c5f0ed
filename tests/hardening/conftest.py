"""The engine's in-process protocol fixtures and the runner tests' live server, for the hardening tests."""

from tests.engine.conftest import engine_settings, owner, owner_runner  # noqa: F401
from tests.runner.conftest import (  # noqa: F401
    live_server_url,
    make_api_user,
    publish_and_execute,
    runner_live_server,
    start_runner,
    user_api,
    user_token,
    wait_run,
)
