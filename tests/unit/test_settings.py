"""Settings: local defaults stand; on AWS a function without a real key or database URL refuses to start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clickstream.core.errors import ConfigurationError
from clickstream.core.settings import DEVELOPMENT_HMAC_KEY, MIN_HMAC_KEY_LENGTH, Settings, get_settings

REAL_KEY = "k" * MIN_HMAC_KEY_LENGTH
AWS_VARIABLES = ("RUNTIME", "AWS_EXECUTION_ENV", "USER_ID_HMAC_KEY", "DATABASE_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


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
