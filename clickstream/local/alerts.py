"""The alert topic's local subscriber: what AWS would e-mail, in a file and on the console.

On AWS the alert topic e-mails the ``AlertEmail`` address (docs/DEPLOY.md).
Locally, ``start_stack`` subscribes an SQS queue of moto's to the same topic
(SNS delivers to it as it publishes) and :class:`AlertSink`, a thread of
``clickstream up``, drains the queue: each alert is appended to
``DIR/alerts.jsonl`` (one JSON object a line) and handed to a callback that
prints it where the stack runs. ``clickstream alerts [--follow]`` reads the
file; it does not need the stack.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ALERTS_FILE = "alerts.jsonl"
QUEUE_NAME = "clickstream-alerts-local"
INDENT = " " * 15  # under the values of the console's "label          value" lines


def alerts_file(data_dir: Path) -> Path:
    return Path(data_dir) / ALERTS_FILE


@dataclass(frozen=True)
class Alert:
    """One message of the alert topic, as its subscriber got it."""

    subject: str
    message: str
    sent_at: str  # SNS's Timestamp
    message_id: str
    topic_arn: str
    received_at: str

    @property
    def failure(self) -> bool:
        """A failed hour (NotifyFailure's subject, or the raw fallback's), not a notice."""
        return "FAILED" in self.subject or "failed" in self.subject

    def as_text(self) -> str:
        """The alert as the e-mail shows it: subject, time, then the message."""
        return f"Subject: {self.subject}\nDate:    {self.sent_at}\n\n{self.message.rstrip()}\n"

    def console_lines(self) -> list[str]:
        """The alert for the console of ``clickstream up``: the subject, then the message, indented."""
        body = [(INDENT + line).rstrip() for line in self.message.splitlines()]
        return [f"{'alert':<15}{self.subject}", *body]

    @classmethod
    def from_sqs_body(cls, body: str) -> Alert:
        """An SNS notification delivered to SQS (not raw): the envelope's Subject, Message, ..."""
        envelope = json.loads(body)
        return cls(
            subject=str(envelope.get("Subject") or "(no subject)"),
            message=str(envelope.get("Message") or ""),
            sent_at=str(envelope.get("Timestamp") or ""),
            message_id=str(envelope.get("MessageId") or ""),
            topic_arn=str(envelope.get("TopicArn") or ""),
            received_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )


def subscribe(sns: Any, sqs: Any, topic_arn: str) -> str:
    """Subscribe a new SQS queue to the topic; returns the queue's URL."""
    queue_url = str(sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


class AlertSink(threading.Thread):
    """Drains the alert queue into ``path`` (appending) and calls ``on_alert`` for each alert."""

    def __init__(
        self, sqs: Any, queue_url: str, path: Path, on_alert: Callable[[Alert], None] | None = None
    ) -> None:
        super().__init__(name="clickstream-alerts", daemon=True)
        self.sqs, self.queue_url, self.path, self.on_alert = sqs, queue_url, Path(path), on_alert
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self.count = 0

    def _receive(self, wait_s: int) -> int:
        with self._lock:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s
            ).get("Messages", [])
            for message in messages:
                alert = Alert.from_sqs_body(message["Body"])
                if alert.message_id not in self._seen:  # SQS delivers at least once
                    self._seen.add(alert.message_id)
                    self._append(alert)
                    self.count += 1
                    if self.on_alert is not None:
                        self.on_alert(alert)
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            return len(messages)

    def _append(self, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(alert)) + "\n")

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._receive(wait_s=1)
            except Exception:  # the endpoint is going away, or a hiccup: try again shortly
                if self._halt.wait(0.5):
                    return

    def drain(self) -> None:
        """Take whatever waits in the queue now (an execution that just ended published it)."""
        while self._receive(wait_s=0):
            pass

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        with contextlib.suppress(Exception):  # stopping: the endpoint may be gone already
            self.drain()


def read_alerts(path: Path) -> list[Alert]:
    """Every alert in the file, oldest first (a line cut off by a crash is skipped)."""
    alerts: list[Alert] = []
    if not path.exists():
        return alerts
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            alerts.append(Alert(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return alerts


def follow(path: Path, poll_s: float = 0.5, halt: threading.Event | None = None) -> Iterator[Alert]:
    """The alerts appended to the file from now on, as they come (until ``halt`` is set)."""
    position = path.stat().st_size if path.exists() else 0
    pending = b""
    while halt is None or not halt.is_set():
        size = path.stat().st_size if path.exists() else 0
        if size < position:  # the file was removed or truncated: read it again from the start
            position, pending = 0, b""
        if size > position:
            with open(path, "rb") as handle:
                handle.seek(position)
                chunk = handle.read(size - position)
            position = size
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                try:
                    yield Alert(**json.loads(line))
                except (ValueError, TypeError):
                    continue
        time.sleep(poll_s)
