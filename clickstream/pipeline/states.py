"""The state machine's interfaces: every state's input and output as a pydantic model.

statemachine/pipeline.asl.json wires them: a Task's ``Parameters`` (the Map's
``ItemSelector``) build its input from the execution's document, and its
``ResultPath`` puts its output there for the states after it. Each handler
in functions/ parses its event into the input model (``parse_event``: a
malformed event is a ``ContractViolation``, which no Retry matches) and
returns the output model as JSON (``model_dump(mode="json")``).

The document an execution carries, state by state (success path)::

    $            ExecutionInput            what StartHour or `clickstream run` starts
    $.list       ListNewResult             ListNew
    $.transform  {"partitions": n}         the Map's ResultSelector (TransformPartitionResult per item)
    $.staged     CheckStagedBatchesResult  CheckStagedBatches
    $.upsert     SessionizeAndUpsertResult SessionizeAndUpsert
    $.watermark  AdvanceWatermarkResult    AdvanceWatermark
    $.business   BusinessAlertNotice       CheckBusinessDays
    $.notice     SuccessNotice             NotifySuccess (FailureNotice from NotifyFailure)

Hours travel as ISO text (``2025-10-18T13:00:00Z``) and are ``datetime`` in
the models. The two entry points outside the state machine, StartHour (the
hourly schedule) and Ingest (the HTTP API), have their events here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar, cast

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from clickstream.core.errors import ContractViolation
from clickstream.core.lake import floor_hour, hour_iso, parse_hour


def _hour_from_text(value: object) -> object:
    return parse_hour(value) if isinstance(value, str) else value


def _whole_hour(value: datetime) -> datetime:
    if value.tzinfo is None or value != floor_hour(value):
        raise ValueError(f"not a whole UTC hour: {value.isoformat()}")
    return floor_hour(value)


Hour = Annotated[
    datetime,
    BeforeValidator(_hour_from_text),
    AfterValidator(_whole_hour),
    PlainSerializer(hour_iso, return_type=str, when_used="json"),
]
"""A whole UTC hour; in JSON ``2025-10-18T13:00:00Z`` (also read: ``2025-10-18T13``)."""

Count = Annotated[int, Field(ge=0)]


class StateModel(BaseModel):
    """A state's input or output: exactly these fields (an unknown one is a contract error)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# ----------------------------------------------------------------- the execution and ListNew


class RunRef(BaseModel):
    """``$.run``: which run the execution's states work for."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)

    name: str = Field(min_length=1)
    """The execution name that started the run: ``$$.Execution.Name`` of its first execution."""


class ReprocessOption(BaseModel):
    """``$.reprocess``: the receive partitions a reprocess re-derives (clickstream/pipeline/reprocess.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    first: Hour | None = None
    """The first partition (None: the first in the lake)."""
    last: Hour
    """The last partition (included); it must have ended."""


class ReprocessListed(StateModel):
    """``$.list.reprocess``: the partitions this execution re-derives, and where the next one starts."""

    first: Hour | None
    """The first partition (None: from the beginning)."""
    last: Hour
    """The last partition it took (whole partitions, up to one execution's budget)."""
    next: Hour | None
    """The first partition it left for the next execution (None: it took every one)."""


class ExecutionInput(BaseModel):
    """The execution's input, ``{"hour": ..., **options}`` (``Operator.start`` in clickstream/ops)."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)

    hour: Hour
    """The hour this execution closes; also its name, ``hour-YYYY-MM-DDTHH``."""
    since: Hour | None = None
    """Option: list the partitions from this hour on, instead of the watermark minus the lookback."""
    lookback_hours: int | None = Field(default=None, ge=0, le=72)
    """Option: this execution's lookback (default: the LOOKBACK_HOURS setting)."""
    continuation: int | None = Field(default=None, ge=2)
    """Set by the execution that started this one (``hour-H-cN``) to take what its budget left."""
    run: RunRef | None = None
    """``$.run``, set by the Begin state: the run's name (etl_runs, ``staged/<run>/``). A resume keeps
    the failed execution's."""
    resume_at: str | None = None
    """A resume (``clickstream redrive`` locally): start at this state, the one that failed, with
    this document as its input (the Start choice routes it; AwaitRedrive sets it on AWS)."""
    reprocess: ReprocessOption | None = None
    """Option (``clickstream reprocess``): list every object of these partitions, processed or not,
    and replace what they contributed to the warehouse in the one publishing commit."""


class ListNewInput(StateModel):
    """ListNew's Parameters."""

    hour: Hour
    """``$.hour``: the hour the execution closes."""
    execution: str = Field(min_length=1)
    """``$$.Execution.Name``: names the execution's staged/ area in the lake."""
    options: ExecutionInput
    """``$``: the whole execution input, read for its options."""


class WorkItemRef(StateModel):
    """One Map item: a reference to a slice of one receive partition (the objects are in S3)."""

    work_key: str = Field(min_length=1)
    """The work file (``staged/<execution>/work/NNNNN.json``) listing the item's raw objects."""
    batch_key: str = Field(min_length=1)
    """Where TransformPartition writes the batch: ``<batch_key>.tsv.gz`` and ``<batch_key>.json``."""
    partition_hour: Hour
    """The receive partition (``raw/year=.../hour=HH/``) the objects are in."""
    objects: Count
    """How many raw objects the work file lists."""


class ListNewResult(StateModel):
    """ListNew's output, at ``$.list``: small references only (payloads are capped at 256 KB)."""

    hour: Hour
    """The hour the execution closes."""
    items: list[WorkItemRef]
    """The Map's items, one per work file, in partition order (at most 400)."""
    worklist: str = Field(min_length=1)
    """``staged/<execution>/worklist.json``: every item, read by the load actions."""
    objects: Count
    """New raw objects in the items."""
    partitions: Count
    """Receive partitions the items cover."""
    listed_from: Hour | None
    """The first partition listed (None: every partition, there was no watermark yet)."""
    watermark: Hour | None
    """The watermark when the listing started (None: none yet)."""
    watermark_to: Hour | None
    """Where AdvanceWatermark moves it: the hour, or before the first partition left out when
    ``truncated`` (None: do not move it)."""
    truncated: bool
    """The backlog needed more items than the cap, or more bytes than one execution's budget
    (clickstream/core/limits.py): this execution's continuation takes the rest at once."""
    bytes: Count = 0
    """Raw (gzipped) bytes of the objects in the items."""
    left_objects: Count = 0
    """New raw objects left for the continuation (0 unless ``truncated``)."""
    left_bytes: Count = 0
    """Their raw bytes."""
    reprocess: ReprocessListed | None = None
    """A reprocess's partitions (None for an hourly run)."""


# ----------------------------------------------------------------- TransformPartitions (the Map)


class TransformPartitionInput(StateModel):
    """TransformPartition's input: the Map's ItemSelector."""

    item: WorkItemRef
    """``$$.Map.Item.Value``: one of ``$.list.items``."""
    index: Count
    """``$$.Map.Item.Index``: the item's position."""
    hour: Hour
    """``$.hour``: the hour the execution closes."""
    execution: str = Field(min_length=1)
    """``$$.Execution.Name``."""


class TransformPartitionResult(StateModel):
    """TransformPartition's output: the batch's counts (the rows and the manifest are in S3).

    Per batch ``lines_read = staged + duplicates + rejected + filtered``. The Map keeps only
    how many items ran (``$.transform.partitions``).
    """

    batch_key: str = Field(min_length=1)
    """The batch written: ``<batch_key>.tsv.gz`` (COPY rows) and ``<batch_key>.json`` (manifest)."""
    lines_read: Count
    """Non-blank lines read from the item's raw objects."""
    staged: Count
    """Rows staged for the load."""
    duplicates: Count
    """Lines whose event_id came earlier in the batch."""
    rejected: Count
    """Lines rejected, each kept with its reason under rejects/."""
    filtered: Count
    """Valid lines filtered as bot or spam traffic (docs/BOTS.md), by reason and family in the manifest."""
    objects: Count
    """Raw objects read."""
    quarantined: Count
    """Objects that were corrupt gzip, copied whole beside their rejects."""


# ----------------------------------------------------------------- the load function's three states


class CheckStagedBatchesInput(StateModel):
    """CheckStagedBatches' Parameters (the load function, action ``check_staged_batches``)."""

    action: Literal["check_staged_batches"]
    """Which of the load function's states this is."""
    hour: Hour
    """``$.hour``."""
    execution: str = Field(min_length=1)
    """``$$.Execution.Name``: the run's row in etl_runs."""
    worklist: str | None = None
    """``$.list.worklist`` (absent or null: nothing to load)."""


class CheckStagedBatchesResult(StateModel):
    """CheckStagedBatches' output, at ``$.staged``."""

    status: Literal["STAGED", "UPSERTED", "SUCCEEDED"]
    """The run's status in etl_runs: STAGED now, or what a run that committed before reached."""
    batches: Count
    """Batch manifests checked (0 when the run had committed already)."""
    objects: Count
    """Raw objects in those batches."""
    rows: Count
    """Staged rows in those batches."""
    checked: bool
    """False when the run had committed already and nothing was checked."""


class SessionizeAndUpsertInput(StateModel):
    """SessionizeAndUpsert's Parameters (the load function, action ``sessionize_and_upsert``)."""

    action: Literal["sessionize_and_upsert"]
    """Which of the load function's states this is."""
    hour: Hour
    """``$.hour``."""
    execution: str = Field(min_length=1)
    """``$$.Execution.Name``: the run committed exactly once under this name."""
    worklist: str | None = None
    """``$.list.worklist`` (absent or null: nothing to load)."""


class SessionizeAndUpsertResult(StateModel):
    """SessionizeAndUpsert's output, at ``$.upsert``: what the run's one transaction committed.

    ``lines_read = loaded + duplicates + rejected + filtered`` over the committed objects.
    """

    objects: Count
    """Raw objects committed by this run (objects already processed are skipped)."""
    lines_read: Count
    """Their lines read by transform."""
    loaded: Count
    """New events inserted into fact_events."""
    duplicates: Count
    """Lines whose event_id was in the batch, the run or the warehouse already."""
    rejected: Count
    """Lines rejected by transform."""
    filtered: Count
    """Lines filtered as bot or spam traffic by transform (etl_filtered has them by reason and family)."""
    quarantined: Count
    """Objects quarantined as corrupt."""
    skipped_objects: Count
    """Objects of the worklist already in the processed-object manifest."""
    sessions_replaced: Count
    """Stored sessions replaced because new events touched them."""
    sessions_written: Count
    """Sessions written (new and replaced)."""
    events_resessioned: Count
    """Stored events moved to another session."""
    dates: list[date]
    """Dates that got new events or whose aggregates were recomputed (the first 400)."""
    dates_truncated: bool
    """More dates than ``dates`` holds (all are in etl_runs)."""
    replayed: bool
    """The run had committed already: these are the recorded counts and nothing was done now."""


class AdvanceWatermarkInput(StateModel):
    """AdvanceWatermark's Parameters (the load function, action ``advance_watermark``)."""

    action: Literal["advance_watermark"]
    """Which of the load function's states this is."""
    hour: Hour
    """``$.hour``."""
    execution: str = Field(min_length=1)
    """``$$.Execution.Name``: the run must have committed."""
    watermark_to: Hour | None
    """``$.list.watermark_to``: the new watermark (null: keep it; absent: ``hour``)."""

    @model_validator(mode="before")
    @classmethod
    def _watermark_to_defaults_to_the_hour(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "watermark_to" not in data:
            return {**data, "watermark_to": data.get("hour")}
        return data


class AdvanceWatermarkResult(StateModel):
    """AdvanceWatermark's output, at ``$.watermark``."""

    watermark: Hour | None
    """The watermark now (None: there is none yet)."""
    freshness_minutes: float | None
    """Minutes from the end of the watermark hour to now (the FreshnessMinutes metric)."""


class CheckBusinessDaysInput(StateModel):
    """CheckBusinessDays' Parameters (the load function, action ``check_business_days``)."""

    action: Literal["check_business_days"]
    """Which of the load function's states this is."""
    hour: Hour
    """``$.hour``."""
    execution: str = Field(min_length=1)
    """``$.run.name``: the run that checks (kept by a redrive, so its retry gets its message back)."""
    watermark_before: Hour | None
    """``$.list.watermark``: the watermark before this run (None: there was none)."""
    watermark_after: Hour | None
    """``$.watermark.watermark``: the watermark AdvanceWatermark left; the days whose settle hour
    lies in (before, after] are checked (clickstream/pipeline/business.py)."""


class BusinessAlertNotice(StateModel):
    """CheckBusinessDays' output, at ``$.business``; PublishBusinessAlert sends it when ``publish``."""

    publish: bool
    """A checked day moved beyond BUSINESS_ALERT_THRESHOLD: send the message (one per run)."""
    subject: str = Field(max_length=100)
    """The SNS subject: the day and what moved ('' when nothing is sent)."""
    message: str
    """The SNS message: each metric that moved, by how much, and the slice that moved most."""
    checked: list[date]
    """The days this run checked (each day is checked by one run only)."""
    alerted: list[date]
    """The days in the message."""


LoadInput = (
    CheckStagedBatchesInput | SessionizeAndUpsertInput | AdvanceWatermarkInput | CheckBusinessDaysInput
)

LOAD_INPUTS: dict[str, type[LoadInput]] = {
    "check_staged_batches": CheckStagedBatchesInput,
    "sessionize_and_upsert": SessionizeAndUpsertInput,
    "advance_watermark": AdvanceWatermarkInput,
    "check_business_days": CheckBusinessDaysInput,
}

# The actions' names before the states were renamed (Sessionize only checked the batches; Upsert
# sessionized and upserted). A redrive runs an execution's original definition, so an execution
# started before the rename still sends them.
RENAMED_LOAD_ACTIONS = {"sessionize": "check_staged_batches", "upsert": "sessionize_and_upsert"}


# ----------------------------------------------------------------- NotifySuccess / NotifyFailure


class NotifySuccessInput(StateModel):
    """NotifySuccess' Parameters."""

    outcome: Literal["success"]
    """Which notice to format."""
    hour: Hour
    """``$.hour``."""
    execution: str
    """``$$.Execution.Name``."""
    execution_arn: str
    """``$$.Execution.Id``."""
    counts: SessionizeAndUpsertResult
    """``$.upsert``: the reject ratio is read from it."""


class StateError(BaseModel):
    """What a Catch puts at ``$.error``: the error's name and its cause."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)

    Error: str = "Unknown"
    """The error's name: the exception's class (``ContractViolation``) or ``States.*``."""
    Cause: str = ""
    """For a Lambda error, JSON with errorType, errorMessage and stackTrace."""


class NotifyFailureInput(StateModel):
    """NotifyFailure's Parameters. Lenient on purpose: a notice is sent whatever failed."""

    outcome: Literal["failure"]
    """Which notice to format."""
    hour: str = ""
    """``$.hour`` as given (text: the failure may be that it is not an hour)."""
    execution: str = ""
    """``$$.Execution.Name``."""
    execution_arn: str | None = None
    """``$$.Execution.Id``: its history names the failed state."""
    error: StateError = StateError()
    """``$.error``: what the Catch caught."""
    state: str | None = None
    """``$.failed_state``: the state that failed, set by its Catch's ``Caught<State>`` Pass state."""


class AwaitRedriveInput(StateModel):
    """AwaitRedrive's Parameters: the last state of the failure branch, the one a Redrive reruns."""

    outcome: Literal["await_redrive"]
    """Which action of the notify function this is."""
    hour: str = ""
    """``$.hour``."""
    execution: str = ""
    """``$$.Execution.Name``."""
    execution_arn: str
    """``$$.Execution.Id``: DescribeExecution gives its ``redriveCount``."""
    state: str
    """``$.failed_state``: where a redrive resumes."""
    redrive_count: Count = 0
    """``$.notice.redrive_count``: the execution's redriveCount when the failure was caught."""
    error: StateError = StateError()
    """``$.error``: the original error, with which AwaitRedrive fails until a redrive."""


class StartContinuationInput(StateModel):
    """StartContinuation's Parameters: ListNew left a backlog; start the execution that takes it."""

    outcome: Literal["continue"]
    """Which action of the notify function this is."""
    hour: Hour
    """``$.hour``: the continuation closes the same hour."""
    execution: str = Field(min_length=1)
    """``$$.Execution.Name``: ``hour-H`` (or ``-rN``) starts ``hour-H-c2``; ``hour-H-cN`` starts ``-cN+1``."""
    execution_arn: str = Field(min_length=1)
    """``$$.Execution.Id``: the state machine's ARN is read from it."""
    left_objects: Count
    """``$.list.left_objects``: what the continuation has to take (logged)."""


class ContinuationStarted(StateModel):
    """StartContinuation's output, at ``$.continuation_started``."""

    name: str
    """The continuation's execution name, ``hour-H-cN``."""
    execution_arn: str
    """Its ARN."""


NotifyInput = NotifySuccessInput | NotifyFailureInput | AwaitRedriveInput | StartContinuationInput

NOTIFY_INPUTS: dict[str, type[NotifyInput]] = {
    "success": NotifySuccessInput,
    "failure": NotifyFailureInput,
    "await_redrive": AwaitRedriveInput,
    "continue": StartContinuationInput,
}


class SuccessNotice(StateModel):
    """NotifySuccess' output, at ``$.notice``; PublishSuccess sends it when ``publish``."""

    publish: bool
    """The rejected share of lines exceeds REJECT_ALERT_RATIO: send the notice."""
    subject: str = Field(max_length=100)
    """The SNS subject."""
    message: str
    """The SNS message."""
    reject_ratio: float = Field(ge=0)
    """Rejected lines over lines read (0 when none were read)."""


class FailureNotice(StateModel):
    """NotifyFailure's output, at ``$.notice``; PublishFailure always sends it."""

    publish: bool
    """Always true."""
    subject: str = Field(max_length=100)
    """The SNS subject: hour and error."""
    message: str
    """The SNS message: failed state, error, cause and the commands that redrive the hour."""
    state: str | None
    """The state that failed (None: the history could not be read)."""
    error: str
    """The error's name."""
    redrive_count: Count = 0
    """The execution's redriveCount now (DescribeExecution; 0 where there is none, as on moto)."""


# ----------------------------------------------------------------- entry points outside the state machine


class StartHourInput(StateModel):
    """StartHour's event: the hourly schedule's input (infra/capabilities/pipeline.py)."""

    scheduled_time: AwareDatetime
    """``<aws.scheduler.scheduled-time>``: when the schedule fired (minute 0 of the next hour)."""


class StartHourResult(StateModel):
    """StartHour's output: the execution it started (or found started)."""

    hour: Hour
    """The hour that closed."""
    execution_arn: str
    """The execution ``hour-YYYY-MM-DDTHH``."""


def _no_headers_is_empty(value: object) -> object:
    return {} if value is None else value


class IngestRequest(BaseModel):
    """The parts of an API Gateway HTTP API (payload v2) event that Ingest reads."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)

    headers: Annotated[dict[str, str], BeforeValidator(_no_headers_is_empty)] = {}
    """Request headers, lower-case names (CloudFront adds CloudFront-Viewer-Country)."""
    body: str | None = None
    """The request body: JSON, base64 when ``isBase64Encoded``."""
    is_base64_encoded: bool = Field(default=False, alias="isBase64Encoded")
    """``isBase64Encoded``: whether ``body`` is base64."""


# ----------------------------------------------------------------- parsing

M = TypeVar("M", bound=BaseModel)


def parse_event(event: object, model: type[M]) -> M:
    """``event`` as ``model`` (powertools' parser); ContractViolation naming each bad field."""
    if isinstance(event, model):
        return event
    try:
        return parse(event=cast(dict[str, Any], event), model=model)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ContractViolation(
            f"{model.__name__} expected, got an event that does not fit: {problems}"
        ) from exc


def _object(event: object, function: str) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise ContractViolation(f"the {function} function's event is not a JSON object: {event!r:.200}")
    return event


def load_input(event: object) -> LoadInput:
    """The load function's event as the model of its ``action``; ContractViolation for another action.

    The actions' former names (RENAMED_LOAD_ACTIONS) are read as their new ones.
    """
    given = _object(event, "load").get("action")
    action = RENAMED_LOAD_ACTIONS.get(given, given) if isinstance(given, str) else None
    model = LOAD_INPUTS.get(action) if action else None
    if action is None or model is None:
        raise ContractViolation(f"unknown load action {given!r}; expected one of {', '.join(LOAD_INPUTS)}")
    return parse_event({**_object(event, "load"), "action": action}, model)


def notify_input(event: object) -> NotifyInput:
    """The notify function's event as the model of its ``outcome``; ContractViolation for another."""
    outcome = _object(event, "notify").get("outcome")
    model = NOTIFY_INPUTS.get(outcome) if isinstance(outcome, str) else None
    if model is None:
        raise ContractViolation(
            f"unknown notify outcome {outcome!r}; expected one of {', '.join(NOTIFY_INPUTS)}"
        )
    return parse_event(event, model)
