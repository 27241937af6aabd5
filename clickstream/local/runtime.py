"""Start the whole local stack in this process: ``clickstream up`` and ``clickstream demo``.

Order matters: PostgreSQL first (a child process), then the worker pool
(forkserver, before any thread exists), then moto's server thread with the
Step Functions engine on and Lambda dispatched to the pool, then the
resources (bucket, topic, state machine from the one ASL file), the lake
restored from disk, and last the scheduler.

The console is for people (what started, where, and each alert); logs,
warnings and the workers' output go to ``DIR/clickstream.log``
(``clickstream.local.logs``). Alerts published to the topic reach a local
subscriber that appends them to ``DIR/alerts.jsonl`` and prints them
(``clickstream.local.alerts``).

Fault drills: a JSON file ``DIR/faults.json`` such as
``{"transform": [{"error": "TransientStorageError", "times": 1}],
"load": [{"error": "ConfigurationError", "action": "sessionize_and_upsert", "times": -1}, {"kill": true}]}``
makes the next invocations of that function (and, with "action", of that
load action: check_staged_batches, sessionize_and_upsert or advance_watermark;
the former names sessionize and upsert still match) fail that way inside its
worker (``times`` defaults to 1; -1 means until the file is changed; ``kill``
kills the worker process; ``sleep`` holds the invocation that many seconds
first, and alone fails nothing). The state machine's Retry and Catch see
exactly what they would see on AWS.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import requests

from clickstream.local import logs, persist
from clickstream.local.alerts import Alert, AlertSink, alerts_file, subscribe
from clickstream.local.dashboard import start_dashboard
from clickstream.local.stack import StackInfo, StackNotRunning, read_stack, stack_file, write_stack
from clickstream.local.workers import HandlerPool
from clickstream.ops import definition, health
from clickstream.ops.operations import Operator
from clickstream.pipeline.states import RENAMED_LOAD_ACTIONS

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTIONS = ("list_new", "transform", "load", "notify")
LAKE_BUCKET = "clickstream-lake"
TOPIC_NAME = "clickstream-alerts"
STATE_MACHINE_NAME = "clickstream-pipeline"
INGEST_DLQ_NAME = "clickstream-ingest-dlq"
DATABASE_NAME = "clickstream"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _current_action(name: Any) -> Any:
    """A load action as the state machine sends it now (a drill file may use a former name)."""
    return RENAMED_LOAD_ACTIONS.get(name, name) if isinstance(name, str) else name


class FaultPlan:
    """Injected faults read from DIR/faults.json on every invocation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def take(self, function: str, event_json: str) -> dict[str, Any] | None:
        """The first planned fault for this function (and action, if the fault names one)."""
        with self._lock:
            if not self.path.exists():
                return None
            plan = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            queue = plan.get(function) or []
            action = json.loads(event_json).get("action") if '"action"' in event_json else None
            action = _current_action(action)
            index = next(
                (i for i, f in enumerate(queue) if _current_action(f.get("action")) in (None, action)),
                None,
            )
            if index is None:
                return None
            fault = dict(queue[index])
            times = int(fault.get("times", 1))
            if times > 0:
                if times == 1:
                    queue.pop(index)
                else:
                    queue[index]["times"] = times - 1
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(plan), encoding="utf-8")
                tmp.replace(self.path)
            return fault


def _start_postgres(data_dir: Path) -> tuple[str, Any]:
    import pgserver  # a wheel with PostgreSQL inside; imported only when it is needed

    server = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    exists = server.psql(f"select 1 from pg_database where datname = '{DATABASE_NAME}';")
    if "1" not in exists.split():
        server.psql(f"create database {DATABASE_NAME};")
    return server.get_uri(DATABASE_NAME), server


@dataclass
class LocalStack:
    data_dir: Path
    info: StackInfo
    pool: HandlerPool
    stop_callbacks: list[Callable[[], None]] = field(default_factory=list)
    alert_sink: AlertSink | None = None

    def operator(self) -> Operator:
        client = boto3.client(
            "stepfunctions", endpoint_url=self.info.aws_endpoint_url, region_name=self.info.region
        )
        return Operator(client, self.info.state_machine_arn, local=True)

    def drain_alerts(self) -> None:
        """Take the alerts published so far now (an execution that just ended may have published one)."""
        if self.alert_sink is not None:
            self.alert_sink.drain()

    def stop(self) -> None:
        for callback in reversed(self.stop_callbacks):
            try:
                callback()
            except Exception as exc:  # keep stopping the rest; say what failed
                logging.getLogger(__name__).warning("while stopping: %s", exc)
        stack_file(self.data_dir).unlink(missing_ok=True)


def start_stack(
    data_dir: Path,
    database_url: str | None = None,
    workers: int | None = None,
    map_concurrency: int = 4,
    port: int | None = None,
    ingest_port: int | None = None,
    log: Callable[[str], None] = print,
    on_alert: Callable[[Alert], None] | None = None,
    allowed_origins: tuple[str, ...] = (),
) -> LocalStack:
    """Start everything; returns once stack.json is written. Call .stop() to end.

    ``on_alert`` is called with each alert of the topic (default: print it with ``log``);
    ``allowed_origins`` are the other origins whose pages may post to the ingest API.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = logs.log_file(data_dir)
    logs.send_to_file(log_path)
    try:
        running = read_stack(data_dir)
    except StackNotRunning:
        running = None
    if running is not None:
        raise RuntimeError(
            f"a stack already runs from {data_dir} (process {running.pid}); stop it first (Ctrl-C)"
        )
    stops: list[Callable[[], None]] = []

    # 1. PostgreSQL: embedded unless DATABASE_URL names one.
    pg_server = None
    if database_url:
        log(f"warehouse      {database_url} (from DATABASE_URL)")
    else:
        log("warehouse      starting embedded PostgreSQL ...")
        with logs.descriptors_to(log_path):
            database_url, pg_server = _start_postgres(data_dir)
    from clickstream.core import migrate  # the migration runner (clickstream db migrate)

    applied = migrate.migrate(database_url)
    log(f"migrations     {len(applied)} applied" if applied else "migrations     up to date")

    # 2. Worker processes before any thread: they run the real handlers.
    port = port or _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC_NAME}"
    environ = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "DATABASE_URL": database_url,
        "LAKE_BUCKET": LAKE_BUCKET,
        "ALERT_TOPIC_ARN": topic_arn,
        "POWERTOOLS_METRICS_NAMESPACE": "Clickstream",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",  # nothing collects EMF from a local stdout
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        "RUNTIME": "local",
    }
    with logs.descriptors_to(log_path):  # the forkserver and every worker write to the log file
        pool = HandlerPool(environ, workers=workers)
        stops.append(pool.shutdown)
        pids = pool.warm(list(FUNCTIONS))
    log(f"workers        {len(pids)} processes, handlers warm")

    # 3. moto: S3, SNS, SQS, Step Functions (executing), Lambda dispatched to the pool.
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from clickstream.local import engine_caches

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ["MOTO_PORT"] = str(port)  # moto's engine calls Lambda through this port
    # moto keeps an object in memory up to this size and spills bigger ones to a temp file (5 MB by
    # default): staged batches are often bigger, and are read back at once by SessionizeAndUpsert.
    os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(64 * 2**20))
    persist.install(data_dir / "lake")
    engine_caches.install()  # moto's engine: one boto3 client per service, JSONPaths parsed once
    faults = FaultPlan(data_dir / "faults.json")
    metrics: list[Any] = []  # moto's CloudWatch client, once the server listens

    def invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        name = function_name.rsplit(":", 1)[-1]
        event_json = body.decode() if isinstance(body, bytes) else (body or "{}")
        ok, payload = pool.invoke(name, event_json, faults.take(name, event_json))
        if not ok:
            response_headers["x-amz-function-error"] = "Unhandled"
        if metrics:  # what Lambda publishes to CloudWatch (clickstream/ops/health.py)
            try:
                health.publish_invocation(metrics[0], name, not ok, datetime.now(UTC))
            except Exception as exc:  # a metric never fails the task
                logging.getLogger(__name__).warning("Lambda metrics not published: %s", exc)
        return payload.encode()

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stops.append(server.stop)
    requests.post(
        f"{endpoint}/moto-api/config",
        json={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
        timeout=10,
    ).raise_for_status()

    session = boto3.session.Session(region_name=REGION)
    metrics.append(session.client("cloudwatch", endpoint_url=endpoint))
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    from moto.s3.models import s3_backends

    restored = persist.restore(data_dir / "lake", LAKE_BUCKET, s3_backends[ACCOUNT]["aws"])
    log(f"lake           s3://{LAKE_BUCKET} ({restored} objects restored from {data_dir / 'lake'})")
    sns = session.client("sns", endpoint_url=endpoint)
    sns.create_topic(Name=TOPIC_NAME)

    # The topic's local subscriber: what AWS would e-mail, appended to DIR/alerts.jsonl and printed.
    def print_alert(alert: Alert) -> None:
        for line in alert.console_lines():
            log(line)
        sys.stdout.flush()  # at once, even when the console is a pipe

    alerts_sqs = session.client("sqs", endpoint_url=endpoint)
    queue_url = subscribe(sns, alerts_sqs, topic_arn)
    sink = AlertSink(alerts_sqs, queue_url, alerts_file(data_dir), on_alert or print_alert)
    sink.start()
    stops.append(sink.stop)
    sfn = session.client("stepfunctions", endpoint_url=endpoint)
    text = definition.render(
        {"MapMaxConcurrency": map_concurrency},
        {
            "ListNewFunctionArn": function_arn("list_new"),
            "TransformFunctionArn": function_arn("transform"),
            "LoadFunctionArn": function_arn("load"),
            "NotifyFunctionArn": function_arn("notify"),
            "AlertTopicArn": topic_arn,
        },
    )
    machine_arn = sfn.create_state_machine(
        name=STATE_MACHINE_NAME,
        definition=text,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/clickstream-pipeline",
    )["stateMachineArn"]

    # 4. The ingest API (the same logic as functions/ingest) and the demo storefront.
    # Accepted events go through a Firehose stream (moto's, writing raw/ as AWS's does), as deployed.
    from clickstream.core.storage import Lake
    from clickstream.local.firehose import create_raw_stream
    from clickstream.local.ingest_server import serve
    from clickstream.pipeline.ingest import DeadLetterQueue, IngestSettings, RawStream

    sqs = session.client("sqs", endpoint_url=endpoint)
    dlq_url = sqs.create_queue(QueueName=INGEST_DLQ_NAME)["QueueUrl"]
    firehose = session.client("firehose", endpoint_url=endpoint)
    stream_name = create_raw_stream(firehose, LAKE_BUCKET, account=ACCOUNT)
    ingest = serve(
        "127.0.0.1",
        ingest_port or 0,
        Lake(LAKE_BUCKET, s3),
        settings=IngestSettings(lake_bucket=LAKE_BUCKET),
        dead_letters=DeadLetterQueue(dlq_url, sqs),
        stream=RawStream(stream_name, firehose),
        allowed_origins=allowed_origins,
    )
    stops.append(ingest.shutdown)
    log(f"ingest         {ingest.url}/v1/events (storefront at {ingest.url}/)")
    if allowed_origins:
        log(f"               pages of {', '.join(allowed_origins)} may post events (CORS)")

    info = StackInfo(
        ingest_url=ingest.url,
        aws_endpoint_url=endpoint,
        database_url=database_url,
        state_machine_arn=machine_arn,
        lake_bucket=LAKE_BUCKET,
        alert_topic_arn=topic_arn,
        region=REGION,
        pid=os.getpid(),
        log_file=str(log_path),
        alerts_file=str(alerts_file(data_dir)),
        allowed_origins=list(allowed_origins),
    )
    if pg_server is not None:
        stops.insert(0, pg_server.cleanup)
    stack = LocalStack(data_dir=data_dir, info=info, pool=pool, stop_callbacks=stops, alert_sink=sink)
    dash = start_dashboard(info, data_dir)
    info.dashboard_url = dash.url
    stops.append(dash.stop)
    write_stack(data_dir, info)
    return stack
