"""What a Lambda handler reads from its context, for calling a handler in a test; boto3 on moto."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "req-1"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"


def use_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 as a test under moto's ``mock_aws`` wants it: fake credentials in us-east-1, and no
    endpoint or profile from the environment (that would send a call elsewhere)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
