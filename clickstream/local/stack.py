"""The running local stack, as ``clickstream up`` describes it in DIR/stack.json.

Every operator command finds the stack through ``--data-dir`` (default
``.clickstream``) and fails with a clear message when none runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = Path(".clickstream")


class StackNotRunning(RuntimeError):
    """No stack.json, or the process that wrote it is gone."""


@dataclass
class StackInfo:
    aws_endpoint_url: str
    database_url: str
    state_machine_arn: str
    lake_bucket: str
    alert_topic_arn: str
    region: str = "us-east-1"
    pid: int = 0
    dashboard_url: str | None = None
    ingest_url: str | None = None
    log_file: str | None = None  # logs, warnings, the workers' output
    alerts_file: str | None = None  # what the alert topic would e-mail, one JSON object a line
    allowed_origins: list[str] = field(default_factory=list)  # other origins that may post events
    extra: dict[str, str] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        """Environment that points boto3, psycopg and the handlers at this stack."""
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
            "DATABASE_URL": self.database_url,
            "LAKE_BUCKET": self.lake_bucket,
            "ALERT_TOPIC_ARN": self.alert_topic_arn,
        }

    def apply_environ(self) -> None:
        os.environ.update(self.environ())


def stack_file(data_dir: Path) -> Path:
    return Path(data_dir) / "stack.json"


def write_stack(data_dir: Path, info: StackInfo) -> Path:
    path = stack_file(data_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_stack(data_dir: Path) -> StackInfo:
    """The running stack, or StackNotRunning with what to do about it."""
    path = stack_file(data_dir)
    if not path.exists():
        raise StackNotRunning(
            f"no local stack found in {data_dir}/ (no stack.json). "
            f"Start one with: clickstream up --data-dir {data_dir}"
        )
    info = StackInfo(**json.loads(path.read_text(encoding="utf-8")))
    if not _alive(info.pid):
        raise StackNotRunning(
            f"the stack described in {path} is not running (process {info.pid} is gone). "
            f"Start it again with: clickstream up --data-dir {data_dir}"
        )
    return info
