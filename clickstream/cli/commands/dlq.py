"""clickstream dlq depth | replay: the ingest dead-letter queue.

Ingest sends a batch that Firehose refused to the dead-letter queue (SQS) and
answers 503. ``depth`` says how many batches wait; ``replay`` moves them into
the raw lake, each into the partition of the hour it was received, as one
object per batch whose name comes from the message's id, and deletes each
message only once its object is written: nothing is lost, and a replay
repeated or interrupted never writes a second copy
(``DeadLetterQueue.replay_batches``, clickstream/pipeline/ingest.py). It then
says which run takes each partition.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from datetime import datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clickstream.cli.commands._common import Sight, add_data_dir, add_lake_target, fail, sight, stack_or_fail
from clickstream.cli.commands.lake import who_takes
from clickstream.core.lake import hour_label
from clickstream.core.storage import Lake, s3_client
from clickstream.pipeline.ingest import DeadLetterQueue

LOCAL_QUEUE_NAME = "clickstream-ingest-dlq"  # clickstream/local/runtime.py INGEST_DLQ_NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="dlq_command", required=True, metavar="SUBCOMMAND")
    depth = sub.add_parser("depth", help="how many dead-lettered batches wait")
    depth.add_argument("--json", action="store_true", help="as JSON")
    replay = sub.add_parser("replay", help="move the dead-lettered batches into the raw lake")
    replay.add_argument("--max", type=int, default=10_000, help="at most this many batches (default 10000)")
    for command in (depth, replay):
        add_data_dir(command)
        command.add_argument(
            "--queue-url",
            default=os.environ.get("INGEST_DLQ_URL"),
            help="the deployed queue (IngestDeadLetterQueueUrl; default INGEST_DLQ_URL); "
            "without it, the local stack's",
        )
    add_lake_target(replay, "--queue-url", "the warehouse, to say which run takes each partition (optional)")


def queue(args: argparse.Namespace) -> DeadLetterQueue:
    if args.queue_url:
        return DeadLetterQueue(args.queue_url)
    info = stack_or_fail(args.data_dir)
    info.apply_environ()
    client = boto3.client("sqs", endpoint_url=info.aws_endpoint_url, region_name=info.region)
    try:
        url = client.get_queue_url(QueueName=LOCAL_QUEUE_NAME)["QueueUrl"]
    except ClientError as exc:
        fail(f"the local stack has no dead-letter queue {LOCAL_QUEUE_NAME}: {exc}")
    return DeadLetterQueue(url, client)


def run(args: argparse.Namespace) -> int:
    dlq = queue(args)
    try:
        depth = dlq.depth()
    except (ClientError, BotoCoreError) as exc:
        fail(f"cannot read the queue {dlq.queue_url}: {exc}")
    if args.dlq_command == "depth":
        if args.json:
            print(json.dumps({"queue_url": dlq.queue_url, **depth._asdict()}))
        else:
            print(f"{depth.waiting:,} batch(es) waiting, {depth.in_flight:,} in flight: {dlq.queue_url}")
        return 0
    return replay(args, dlq, depth.waiting)


def replay(args: argparse.Namespace, dlq: DeadLetterQueue, waiting: int) -> int:
    if args.queue_url:
        if not args.lake_bucket:
            fail("with --queue-url, replay needs the lake: --lake-bucket or LAKE_BUCKET")
        see = Sight(Lake(args.lake_bucket, s3_client()), args.database_url)
    else:
        see = sight(args)
    lake = see.lake
    if lake is None:
        fail(f"replay needs the lake: {see.missing}")
    if waiting == 0:
        print(f"nothing to replay: the queue is empty ({dlq.queue_url})")
        return 0
    with Progress(
        TextColumn("[bold]replay"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        TimeElapsedColumn(),
    ) as progress:  # fmt: skip
        task = progress.add_task("", total=min(waiting, args.max))
        summary = dlq.replay_batches(
            lake,
            args.max,
            on_batch=lambda batch: progress.update(task, advance=1, description=batch.key),
        )
    per_hour: Counter[datetime] = Counter()
    for batch in summary.batches:
        per_hour[batch.hour] += batch.lines
    print(
        f"replayed {summary.messages:,} batch(es), {summary.lines:,} lines, into "
        f"{len(per_hour)} partition(s) of s3://{lake.bucket}/raw/"
    )
    for hour, lines in sorted(per_hour.items()):
        print(f"  {hour_label(hour)}  {lines:,} lines")
        if see.database_url:
            print(f"    {who_takes(see, hour)}")
    for message_id, why in summary.skipped:
        print(f"left in the queue: message {message_id}: {why}")
    left = dlq.depth()
    print(f"the queue now holds {left.waiting:,} batch(es) ({left.in_flight:,} in flight)")
    return 2 if summary.skipped else 0
