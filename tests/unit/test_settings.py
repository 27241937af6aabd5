"""Settings: local defaults stand; on AWS a function without a real key or database URL refuses to start."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from clickstream.core.errors import ConfigurationError
from clickstream.core.settings import DEVELOPMENT_HMAC_KEY, MIN_HMAC_KEY_LENGTH, Settings, get_settings
from functions.ingest import handler as ingest_handler
from functions.list_new import handler as list_new_handler
from functions.load import handler as load_handler
from functions.transform import handler as transform_handler
from tests.support.aws import LambdaContext

REAL_KEY = "k" * MIN_HMAC_KEY_LENGTH
AWS_VARIABLES = ("RUNTIME", "AWS_EXECUTION_ENV", "USER_ID_HMAC_KEY", "DATABASE_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    ingest_handler._clients.cache_clear()
    yield
    get_settings.cache_clear()
    ingest_handler._clients.cache_clear()


def test_locally_the_defaults_stand() -> None:
    settings = Settings()
    assert settings.runtime == "local"
    assert settings.user_id_hmac_key.get_secret_value() == DEVELOPMENT_HMAC_KEY
    assert settings.require("user_id_hmac_key", "database_url") is settings


def test_on_aws_the_development_key_is_refused_naming_the_variable_and_where_to_set_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNTIME", "aws")
    with pytest.raises(ConfigurationError) as caught:
        Settings().require("user_id_hmac_key")
    message = str(caught.value)
    assert message.startswith("USER_ID_HMAC_KEY is not set (it is the public development key)")
    assert "set USER_ID_HMAC_KEY in the function's environment" in message
    assert "UserIdHmacKey secret (infra/capabilities/pipeline.py)" in message


def test_on_aws_a_short_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME", "aws")
    monkeypatch.setenv("USER_ID_HMAC_KEY", "k" * (MIN_HMAC_KEY_LENGTH - 1))
    with pytest.raises(ConfigurationError, match=f"USER_ID_HMAC_KEY is shorter than {MIN_HMAC_KEY_LENGTH}"):
        Settings().require("user_id_hmac_key")
    monkeypatch.setenv("USER_ID_HMAC_KEY", REAL_KEY)
    assert Settings().require("user_id_hmac_key").user_id_hmac_key.get_secret_value() == REAL_KEY


def test_on_aws_an_empty_database_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME", "aws")
    with pytest.raises(ConfigurationError, match=r"DATABASE_URL is not set.*warehouse") as caught:
        Settings().require("database_url")
    assert "USER_ID_HMAC_KEY" not in str(caught.value)
    monkeypatch.setenv("DATABASE_URL", "postgresql://pipeline@10.0.0.1:5432/clickstream")
    Settings().require("database_url")
    # A function that needs neither (notify) starts with neither
    assert Settings().require().runtime == "aws"


def test_on_lambda_the_runtime_is_aws_whatever_runtime_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # A deployed function that lost RUNTIME=aws still checks its settings
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    monkeypatch.setenv("RUNTIME", "local")
    assert Settings().runtime == "aws"
    with pytest.raises(ConfigurationError, match="USER_ID_HMAC_KEY"):
        Settings().require("user_id_hmac_key")


HOUR = "2025-10-18T13:00:00Z"
EXECUTION = "hour-2025-10-18T13"
ITEM = {"work_key": "w.json", "batch_key": "b", "partition_hour": HOUR, "objects": 1}
STARTS: list[tuple[Any, dict[str, Any], str]] = [
    (transform_handler, {"item": ITEM, "index": 0, "hour": HOUR, "execution": EXECUTION}, "USER_ID_HMAC_KEY"),
    (ingest_handler, {"headers": {}, "body": "[]"}, "USER_ID_HMAC_KEY"),
    (list_new_handler, {"hour": HOUR, "execution": EXECUTION, "options": {"hour": HOUR}}, "DATABASE_URL"),
    (load_handler, {"action": "sessionize_and_upsert", "hour": HOUR, "execution": EXECUTION}, "DATABASE_URL"),
]


@pytest.mark.parametrize(("module", "event", "variable"), STARTS)
def test_a_deployed_function_without_its_setting_fails_on_its_first_invocation(
    module: Any, event: dict[str, Any], variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function on AWS whose environment lacks the setting (nothing is reached: no network here)
    monkeypatch.setenv("RUNTIME", "aws")
    # When it is invoked with a good event, Then it stops before any work, naming the variable
    with pytest.raises(ConfigurationError, match=f"^{variable} "):
        module.handler(event, LambdaContext("test"))
