"""The state machine's interfaces (clickstream/pipeline/states.py) against the ASL that wires them.

Each Task's Parameters name exactly its input model's fields; the documents the
states pass along a successful and a failed execution parse into those models
and back to the same JSON; every handler refuses a malformed event with
ContractViolation, the permanent error no Retry matches.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from clickstream.core.errors import ContractViolation
from clickstream.ops.definition import ASL_PATH
from clickstream.pipeline import notify, states
from clickstream.pipeline.states import (
    AdvanceWatermarkInput,
    AdvanceWatermarkResult,
    CheckStagedBatchesInput,
    CheckStagedBatchesResult,
    FailureNotice,
    IngestRequest,
    ListNewInput,
    ListNewResult,
    NotifyFailureInput,
    NotifySuccessInput,
    SessionizeAndUpsertInput,
    SessionizeAndUpsertResult,
    StartHourInput,
    SuccessNotice,
    TransformPartitionInput,
    TransformPartitionResult,
)
from functions.ingest import handler as ingest_handler
from functions.list_new import handler as list_new_handler
from functions.load import handler as load_handler
from functions.notify import handler as notify_handler
from functions.start_hour import handler as start_hour_handler
from functions.transform import handler as transform_handler
from tests.support.aws import LambdaContext

ASL = json.loads(ASL_PATH.read_text(encoding="utf-8"))
EXECUTION = "hour-2025-10-18T13"
EXECUTION_ARN = f"arn:aws:states:us-east-1:123456789012:execution:clickstream-pipeline:{EXECUTION}"

# Each Lambda Task of the ASL and the model of its input (the Map's task: its ItemSelector).
INPUTS: dict[str, type[BaseModel]] = {
    "ListNew": ListNewInput,
    "TransformPartition": TransformPartitionInput,
    "CheckStagedBatches": CheckStagedBatchesInput,
    "SessionizeAndUpsert": SessionizeAndUpsertInput,
    "AdvanceWatermark": AdvanceWatermarkInput,
    "CheckBusinessDays": states.CheckBusinessDaysInput,
    "NotifySuccess": NotifySuccessInput,
    "NotifyFailure": NotifyFailureInput,
    "AwaitRedrive": states.AwaitRedriveInput,
    "StartContinuation": states.StartContinuationInput,
}


def lambda_tasks(states_: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Task that invokes one of our functions, the Map's inner states included."""
    found = {}
    for name, state in states_.items():
        if state["Type"] == "Task" and state["Resource"].endswith("FunctionArn}"):
            found[name] = state
        if state["Type"] == "Map":
            found.update(lambda_tasks(state["ItemProcessor"]["States"]))
    return found


def parameters_of(name: str) -> dict[str, Any]:
    if name == "TransformPartition":
        return dict(ASL["States"]["TransformPartitions"]["ItemSelector"])
    return dict(ASL["States"][name]["Parameters"])


def field_names(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


# -- the ASL names exactly the models' fields ------------------------------------------------


def test_every_lambda_task_has_an_input_model() -> None:
    assert set(lambda_tasks(ASL["States"])) == set(INPUTS)


@pytest.mark.parametrize("name", list(INPUTS))
def test_parameters_keys_are_the_input_model_fields(name: str) -> None:
    keys = {key.removesuffix(".$") for key in parameters_of(name)}
    assert keys == field_names(INPUTS[name])


@pytest.mark.parametrize(
    "name",
    [
        "CheckStagedBatches",
        "SessionizeAndUpsert",
        "AdvanceWatermark",
        "CheckBusinessDays",
        "NotifySuccess",
        "NotifyFailure",
        "AwaitRedrive",
        "StartContinuation",
    ],
)
def test_the_constant_parameter_picks_the_states_model(name: str) -> None:
    # The load and notify functions serve several states: the constant action or outcome decides which
    constant = {k: v for k, v in parameters_of(name).items() if not k.endswith(".$")}
    assert list(constant) in (["action"], ["outcome"])
    key, value = next(iter(constant.items()))
    model = INPUTS[name]
    assert model.model_fields[key].annotation == Literal[value]
    assert (states.LOAD_INPUTS if key == "action" else states.NOTIFY_INPUTS)[value] is model


def test_every_model_documents_every_field() -> None:
    models = [m for m in vars(states).values() if isinstance(m, type) and issubclass(m, BaseModel)]
    undocumented = [
        f"{m.__name__}.{name}"
        for m in models
        if m.__module__ == states.__name__
        for name, f in m.model_fields.items()
        if not f.description
    ]
    assert undocumented == []


# -- the documents an execution carries, through the ASL -------------------------------------


def sample_list(items: int = 2) -> dict[str, Any]:
    refs = [
        {
            "work_key": f"staged/{EXECUTION}/work/{i:05d}.json",
            "batch_key": f"staged/{EXECUTION}/batches/{i:05d}",
            "partition_hour": "2025-10-18T12:00:00Z" if i == 0 else "2025-10-18T13:00:00Z",
            "objects": 3,
        }
        for i in range(items)
    ]
    return {
        "hour": "2025-10-18T13:00:00Z",
        "items": refs,
        "worklist": f"staged/{EXECUTION}/worklist.json",
        "objects": 3 * items,
        "partitions": min(items, 2),
        "listed_from": "2025-10-18T10:00:00Z",
        "watermark": "2025-10-18T12:00:00Z",
        "watermark_to": "2025-10-18T13:00:00Z",
        "truncated": False,
        "bytes": 123456,
        "left_objects": 0,
        "left_bytes": 0,
        "reprocess": None,
    }


SAMPLE_TRANSFORM = {
    "batch_key": f"staged/{EXECUTION}/batches/00000",
    "lines_read": 10,
    "staged": 7,
    "duplicates": 2,
    "rejected": 1,
    "filtered": 0,
    "objects": 3,
    "quarantined": 0,
}
SAMPLE_CHECK = {"status": "STAGED", "batches": 2, "objects": 6, "rows": 14, "checked": True}
SAMPLE_UPSERT = {
    "objects": 6,
    "lines_read": 20,
    "loaded": 14,
    "duplicates": 4,
    "rejected": 2,
    "filtered": 0,
    "quarantined": 0,
    "skipped_objects": 0,
    "sessions_replaced": 1,
    "sessions_written": 5,
    "events_resessioned": 0,
    "dates": ["2025-10-18"],
    "dates_truncated": False,
    "replayed": False,
}
SAMPLE_WATERMARK = {"watermark": "2025-10-18T13:00:00Z", "freshness_minutes": 3.5}
OUTPUTS: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "ListNew": (ListNewResult, sample_list()),
    "TransformPartition": (TransformPartitionResult, SAMPLE_TRANSFORM),
    "CheckStagedBatches": (CheckStagedBatchesResult, SAMPLE_CHECK),
    "SessionizeAndUpsert": (SessionizeAndUpsertResult, SAMPLE_UPSERT),
    "AdvanceWatermark": (AdvanceWatermarkResult, SAMPLE_WATERMARK),
    "CheckBusinessDays": (
        states.BusinessAlertNotice,
        {
            "publish": True,
            "subject": "Clickstream business alert 2025-10-17 (Fri): sessions −45%",
            "message": "Business alert: ...",
            "checked": ["2025-10-17"],
            "alerted": ["2025-10-17"],
        },
    ),
}


def resolve(path: str, document: Any, context: dict[str, Any]) -> Any:
    """The few JSONPath forms the ASL uses: $, $.a.b and $$.a.b (the context object)."""
    root, rest = (context, path[2:]) if path.startswith("$$") else (document, path[1:])
    value = root
    for part in filter(None, rest.split(".")):
        value = value[part]
    return value


def build(parameters: dict[str, Any], document: Any, context: dict[str, Any]) -> dict[str, Any]:
    return {
        key.removesuffix(".$"): resolve(value, document, context) if key.endswith(".$") else value
        for key, value in parameters.items()
    }


def put(document: dict[str, Any], result_path: str | None, value: Any) -> dict[str, Any]:
    if result_path is None:
        return document
    return {**document, result_path.removeprefix("$."): value}


def parse_input(name: str, event: dict[str, Any]) -> BaseModel:
    """The state's input as its handler parses it."""
    model = INPUTS[name]
    if "action" in event:
        parsed: BaseModel = states.load_input(event)
    elif "outcome" in event:
        parsed = states.notify_input(event)
    else:
        parsed = states.parse_event(event, model)
    assert type(parsed) is model
    return parsed


def round_trip(name: str, event: dict[str, Any]) -> BaseModel:
    """Parse the event, and check the model gives back the same JSON (and parses again to itself)."""
    parsed = parse_input(name, json.loads(json.dumps(event)))
    assert parsed.model_dump(mode="json", exclude_unset=True, by_alias=True) == event
    assert parse_input(name, parsed.model_dump(mode="json", by_alias=True)) == parsed
    return parsed


def test_a_successful_execution_passes_each_state_its_model() -> None:
    # Given the input StartHour sends and the context Step Functions keeps
    document: dict[str, Any] = {"hour": "2025-10-18T13:00:00Z"}
    context: dict[str, Any] = {"Execution": {"Name": EXECUTION, "Id": EXECUTION_ARN}}
    top = ASL["States"]
    name = ASL["StartAt"]
    seen = []
    while top[name]["Type"] != "Succeed":
        state = top[name]
        seen.append(name)
        if state["Type"] == "Map":
            # Then each item of $.list.items becomes TransformPartition's input
            items = resolve(state["ItemsPath"], document, context)
            assert items
            for index, item in enumerate(items):
                item_context = {**context, "Map": {"Item": {"Value": item, "Index": index}}}
                round_trip("TransformPartition", build(state["ItemSelector"], document, item_context))
            document = put(document, state["ResultPath"], {"partitions": len(items)})
            name = state["Next"]
        elif state["Type"] == "Choice":
            choice = state["Choices"][0]
            if "IsPresent" in choice:  # Start: a resume input would go to Resume; this one is new
                assert choice["Variable"].removeprefix("$.") not in document
                taken = False
            else:
                taken = resolve(choice["Variable"], document, context) is choice["BooleanEquals"]
            name = choice["Next"] if taken else state["Default"]
        elif state["Type"] == "Pass":
            document = put(document, state["ResultPath"], build(state["Parameters"], document, context))
            name = state["Next"]
        elif state["Resource"].startswith("arn:aws:states:::sns"):
            message = build(state["Parameters"], document, context)
            assert message["Subject"] and message["Message"]
            document = put(document, state["ResultPath"], None)
            name = state["Next"]
        else:
            # Then the Task's input is its model, and its output model lands where the next states read
            parsed = round_trip(name, build(state["Parameters"], document, context))
            if name == "NotifySuccess":
                assert isinstance(parsed, NotifySuccessInput)
                output: dict[str, Any] = SuccessNotice.model_validate(
                    notify.format_success("2025-10-18T13:00:00Z", EXECUTION, parsed.counts.model_dump(), 0.01)
                ).model_dump(mode="json")
            else:
                model, sample = OUTPUTS[name]
                output = model.model_validate(sample).model_dump(mode="json")
                assert output == sample  # the model's JSON is exactly what the logic returns
            document = put(document, state["ResultPath"], output)
            name = state["Next"]
    assert "SessionizeAndUpsert" in seen and "CheckStagedBatches" in seen
    assert "PublishBusinessAlert" in seen  # the sample notice is published


@pytest.mark.parametrize(
    "failed", ["ListNew", "TransformPartitions", "CheckStagedBatches", "SessionizeAndUpsert"]
)
def test_a_failed_state_passes_notify_failure_its_model(failed: str) -> None:
    # Given a state that failed: its Catch put the error at $.error
    catch = ASL["States"][failed]["Catch"][0]
    caught = ASL["States"][catch["Next"]]  # a Pass state that names the failed state
    assert (caught["Type"], caught["Result"], caught["Next"]) == ("Pass", failed, "NotifyFailure")
    cause = json.dumps({"errorType": "ContractViolation", "errorMessage": "bad", "stackTrace": []})
    document = put(
        {"hour": "2025-10-18T13:00:00Z"}, catch["ResultPath"], {"Error": "ContractViolation", "Cause": cause}
    )
    document = put(document, caught["ResultPath"], failed)
    context = {"Execution": {"Name": EXECUTION, "Id": EXECUTION_ARN}}
    # When NotifyFailure's Parameters are evaluated
    state = ASL["States"]["NotifyFailure"]
    parsed = round_trip("NotifyFailure", build(state["Parameters"], document, context))
    # Then its notice carries what PublishFailure reads
    assert isinstance(parsed, NotifyFailureInput)
    notice = FailureNotice.model_validate(
        notify.format_failure(
            parsed.hour, parsed.execution, parsed.execution_arn, parsed.error.model_dump(), failed
        )
    ).model_dump(mode="json")
    publish = build(ASL["States"]["PublishFailure"]["Parameters"], put(document, "$.notice", notice), context)
    assert publish["Subject"].endswith("ContractViolation") and "failed state " + failed in publish["Message"]


def test_outputs_refuse_a_field_the_contract_does_not_name() -> None:
    with pytest.raises(ValueError, match="extra"):
        CheckStagedBatchesResult.model_validate({**SAMPLE_CHECK, "surprise": 1})


def test_hours_are_whole_utc_hours_and_keep_their_text() -> None:
    event = {"action": "check_staged_batches", "hour": "2025-10-18T13", "execution": EXECUTION}
    parsed = states.load_input(event)
    assert parsed.hour == datetime(2025, 10, 18, 13, tzinfo=UTC)
    assert parsed.model_dump(mode="json")["hour"] == "2025-10-18T13:00:00Z"
    with pytest.raises(ContractViolation, match="hour"):
        states.load_input({**event, "hour": "2025-10-18T13:30:00Z"})


def test_advance_watermark_without_watermark_to_moves_it_to_the_hour() -> None:
    event = {"action": "advance_watermark", "hour": "2025-10-18T13:00:00Z", "execution": EXECUTION}
    assert states.load_input(event).watermark_to == datetime(2025, 10, 18, 13, tzinfo=UTC)  # type: ignore[union-attr]
    assert states.load_input({**event, "watermark_to": None}).watermark_to is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("former", "model"), [("sessionize", CheckStagedBatchesInput), ("upsert", SessionizeAndUpsertInput)]
)
def test_the_former_action_names_still_reach_their_states(former: str, model: type[BaseModel]) -> None:
    # An execution started before the rename and redriven after it sends the former names
    event = {"action": former, "hour": "2025-10-18T13:00:00Z", "execution": EXECUTION, "worklist": None}
    assert type(states.load_input(event)) is model


# -- every handler refuses a malformed event with the typed error ----------------------------


GOOD_TRANSFORM = {
    "item": sample_list()["items"][0],
    "index": 0,
    "hour": "2025-10-18T13:00:00Z",
    "execution": EXECUTION,
}
MALFORMED: list[tuple[Any, dict[str, Any], str]] = [
    (list_new_handler, {"hour": "2025-10-18T13:00:00Z"}, "execution"),
    (
        list_new_handler,
        {"hour": "yesterday", "execution": EXECUTION, "options": {"hour": "yesterday"}},
        "hour",
    ),
    (
        list_new_handler,
        {
            "hour": "2025-10-18T13",
            "execution": EXECUTION,
            "options": {"hour": "2025-10-18T13", "lookback_hours": -1},
        },
        "lookback_hours",
    ),
    (transform_handler, {}, "item"),
    (transform_handler, {**GOOD_TRANSFORM, "item": {"work_key": "w"}}, "batch_key"),
    (transform_handler, {**GOOD_TRANSFORM, "index": -1}, "index"),
    (transform_handler, {**GOOD_TRANSFORM, "unexpected": True}, "unexpected"),
    (load_handler, {"hour": "2025-10-18T13:00:00Z", "execution": EXECUTION}, "unknown load action None"),
    (load_handler, {"action": "check_staged_batches", "execution": EXECUTION}, "hour"),
    (
        load_handler,
        {"action": "sessionize_and_upsert", "hour": "2025-10-18T13:00:00Z", "execution": ""},
        "execution",
    ),
    (
        load_handler,
        {
            "action": "advance_watermark",
            "hour": "2025-10-18T13:00:00Z",
            "execution": EXECUTION,
            "watermark_to": 5,
        },
        "watermark_to",
    ),
    (notify_handler, {"outcome": "maybe"}, "unknown notify outcome 'maybe'"),
    (
        notify_handler,
        {
            "outcome": "success",
            "hour": "2025-10-18T13:00:00Z",
            "execution": EXECUTION,
            "execution_arn": EXECUTION_ARN,
            "counts": {},
        },
        "counts.loaded",
    ),
    (notify_handler, {"outcome": "failure", "error": "not an object"}, "error"),
    (ingest_handler, {"headers": {"content-type": 7}, "body": "[]"}, "headers"),
    (ingest_handler, {"body": {"not": "text"}}, "body"),
    (start_hour_handler, {}, "scheduled_time"),
    (start_hour_handler, {"scheduled_time": "2025-10-18T14:00:00"}, "scheduled_time"),  # no time zone
]


@pytest.mark.parametrize(("module", "event", "names"), MALFORMED)
def test_a_handler_refuses_a_malformed_event_with_contract_violation(
    module: Any, event: dict[str, Any], names: str
) -> None:
    # Parsing comes first: nothing is read, written or connected to
    with pytest.raises(ContractViolation) as caught:
        module.handler(event, LambdaContext("test"))
    assert names in str(caught.value)


def test_a_non_object_event_is_a_contract_violation() -> None:
    for module in (list_new_handler, transform_handler, load_handler, notify_handler, start_hour_handler):
        with pytest.raises(ContractViolation):
            module.handler(["not", "an", "object"], LambdaContext("test"))


def test_the_ingest_request_keeps_what_handle_api_event_reads() -> None:
    event = {"version": "2.0", "headers": None, "body": "e30=", "isBase64Encoded": True, "requestContext": {}}
    request = states.parse_event(event, IngestRequest)
    assert request.model_dump(by_alias=True) == {"headers": {}, "body": "e30=", "isBase64Encoded": True}


def test_start_hour_reads_the_schedules_fire_time() -> None:
    parsed = states.parse_event({"scheduled_time": "2025-10-18T14:00:07Z"}, StartHourInput)
    assert start_hour_handler.closed_hour(parsed.scheduled_time) == datetime(2025, 10, 18, 13, tzinfo=UTC)
