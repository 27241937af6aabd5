"""What a Lambda handler reads from its context, for calling a handler in a test."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "req-1"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
