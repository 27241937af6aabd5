"""clickstream.tools.cost and `clickstream cost`: the monthly bill from measured compute and list prices."""

from __future__ import annotations

import ast
import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from clickstream.cli import main as cli_main
from clickstream.cli.commands import cost as cost_command
from clickstream.ops.definition import ASL_PATH
from clickstream.tools import cost

REPO = Path(__file__).resolve().parents[2]
VOLUMES = (10_000, 100_000, 1_000_000, 10_000_000)

# The states a successful execution enters, written down by hand from the ASL file:
# outside the Map once each, inside it once per item.
OUTER = [
    "Start",  # a resume (the local redrive) would go to Resume instead
    "Begin",
    "ListNew",
    "TransformPartitions",
    "CheckStagedBatches",
    "SessionizeAndUpsert",
    "AdvanceWatermark",
    "CheckBusinessDays",
    "ShouldPublishBusinessAlert",  # a business alert: PublishBusinessAlert first
    "NotifySuccess",
    "ShouldPublishSuccess",
    "ShouldContinue",  # a backlog left: StartContinuation first
    "Succeeded",
]
INNER = ["TransformPartition"]


def results(**override: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "transform_s_per_event": 1 / 20_000,
        "load_s_per_event": 1 / 10_000,
        "idle_s_per_state": {
            "ListNew": 0.2,
            "CheckStagedBatches": 0.1,
            "SessionizeAndUpsert": 0.2,
            "AdvanceWatermark": 0.1,
        },
        "machine": "aarch64, 4 cores",
        "source": "python -m bench, test",
        "extra": "ignored",
    }
    inputs.update(override)
    return {"date": "2026-11-23", "transform": {"events_per_s": 20_000}, "cost_inputs": inputs}


# -- totals and shape ------------------------------------------------------------


@pytest.mark.parametrize("with_ingest", [False, True])
@pytest.mark.parametrize("events", VOLUMES)
def test_total_is_the_sum_of_the_lines(events: int, with_ingest: bool) -> None:
    bill = cost.estimate(events, cost.Measured.builtin(), with_ingest=with_ingest)
    assert bill.lines
    assert math.isclose(bill.total, sum(line.usd for line in bill.lines))
    assert math.isclose(bill.total_with_free_tier, sum(line.usd - line.free_usd for line in bill.lines))
    assert all(line.usd >= 0 and 0 <= line.free_usd <= line.usd for line in bill.lines)
    assert {line.group for line in bill.lines} <= set(cost.GROUPS)
    assert ("ingest" in {line.group for line in bill.lines}) == with_ingest


def test_the_bill_grows_with_events_line_by_line() -> None:
    measured = cost.Measured.builtin()
    bills = [cost.estimate(n, measured, with_ingest=True) for n in (1_000, 10_000, 30_000, *VOLUMES[1:])]
    totals = [b.total for b in bills]
    assert totals == sorted(totals)
    assert totals[-1] > 4 * totals[0]
    for smaller, larger in itertools.pairwise(bills):
        assert [line.name for line in smaller.lines] == [line.name for line in larger.lines]
        for a, b in zip(smaller.lines, larger.lines, strict=True):
            assert b.usd >= a.usd - 1e-12, a.name


def test_fixed_lines_dominate_at_10k_events_a_day() -> None:
    bill = cost.estimate(10_000, cost.Measured.builtin())
    assert bill.group_total("fixed") > 0.8 * bill.total
    assert bill.group_total("fixed") > 10 * bill.group_total("pipeline")
    by_name = {line.name: line.usd for line in bill.lines}
    assert by_name["EC2 t4g.micro, on demand, 730 h"] == pytest.approx(0.0084 * 730)
    assert by_name["Public IPv4 address of the host (Session Manager; no inbound rule)"] == pytest.approx(
        3.65
    )
    assert not any(name.startswith("VPC interface") for name in by_name)
    # the two largest lines are both fixed
    largest = sorted(bill.lines, key=lambda line: line.usd)[-2:]
    assert {line.group for line in largest} == {"fixed"}


# -- the targets of issue 18 -------------------------------------------------------------------


@pytest.mark.parametrize("measured", [cost.Measured.builtin(), cost.Measured.from_results(results())])
def test_idle_default_deployment_is_at_most_15_dollars(measured: cost.Measured) -> None:
    # deployed, no events: hourly executions with nothing to do, the ingest API waiting
    assert cost.estimate(1, measured, with_ingest=True).total <= 15.0


def test_ingest_at_10m_events_a_day_is_at_most_132_dollars() -> None:
    bill = cost.estimate(10_000_000, cost.Measured.builtin(), with_ingest=True)
    assert bill.group_total("ingest") <= cost.AWS_SOLUTION_INGEST_USD == 132.0
    names = {line.name for line in bill.lines if line.group == "ingest"}
    assert not any("WAF" in n or "storefront" in n or "Cognito" in n for n in names)
    assert any(n.startswith("Data Firehose") for n in names)


def test_storefront_and_waf_are_lines_of_their_own() -> None:
    measured = cost.Measured.builtin()
    plain = cost.estimate(1_000_000, measured, with_ingest=True)
    store = cost.estimate(1_000_000, measured, with_storefront=True)
    waf = cost.estimate(1_000_000, measured, waf=True)
    added = {line.name for line in store.lines} - {line.name for line in plain.lines}
    assert added == {
        "CloudFront requests, storefront pages",
        "S3 GET, storefront files on CloudFront cache misses",
        "Cognito user pool, Lite (monthly active shoppers)",
    }
    assert {line.name for line in waf.lines} - {line.name for line in plain.lines} == {
        "WAF web ACL + 4 rules (-c ingest_waf=on)",
        "WAF requests inspected",
    }
    assert waf.total - plain.total == pytest.approx(9 + 3.04e6 * 0.6 / 1e6, rel=0.01)


def test_firehose_objects_and_records() -> None:
    a = cost.Assumptions()
    bill = cost.estimate(10_000_000, cost.Measured.builtin(), with_ingest=True)
    # one object a minute, plus one per 64 MB of NDJSON (10M x 700 B / 24 = 292 MB an hour)
    assert bill.volumes["objects_per_hour"] == pytest.approx(60 + 10e6 / 24 * 700 / 1e6 / 64)
    # a record of 10 lines (7,000 B) is billed as 10 KB
    line = next(x for x in bill.lines if x.name.startswith("Data Firehose"))
    requests = 10e6 / a.events_per_request * cost.DAYS_PER_MONTH
    assert line.usd == pytest.approx(requests * 10 * 1024 / 2**30 * 0.029)
    quiet = cost.estimate(2_400, cost.Measured.builtin())  # 10 requests an hour: an object each
    assert quiet.volumes["objects_per_hour"] == pytest.approx(10, rel=0.01)


def test_rejects_non_positive_events() -> None:
    with pytest.raises(ValueError, match="positive"):
        cost.estimate(0, cost.Measured.builtin())


# -- the state machine ------------------------------------------------------------


def test_expected_states_are_the_asl_files() -> None:
    machine = json.loads(ASL_PATH.read_text())
    states = machine["States"]
    assert set(OUTER) <= set(states)
    assert machine["StartAt"] == OUTER[0]
    inner = states["TransformPartitions"]["ItemProcessor"]
    assert inner["StartAt"] == INNER[0] and set(INNER) == set(inner["States"])
    # each written-down state leads to the next one on the success path
    for here, nxt in itertools.pairwise(OUTER):
        state = states[here]
        assert state.get("Next", state.get("Default")) == nxt, here
    assert states[OUTER[-1]]["Type"] == "Succeed"


@pytest.mark.parametrize("events", VOLUMES)
def test_transitions_and_requests_follow_the_asl(events: int) -> None:
    bill = cost.estimate(events, cost.Measured.builtin())
    items = bill.volumes["items_per_execution"]
    assert items == max(1, math.ceil(bill.volumes["objects_per_hour"] / 200))
    assert bill.volumes["transitions_per_execution"] == len(OUTER) + items * len(INNER)
    lambda_outside = [
        "ListNew",
        "CheckStagedBatches",
        "SessionizeAndUpsert",
        "AdvanceWatermark",
        "CheckBusinessDays",
        "NotifySuccess",
    ]
    assert bill.volumes["lambda_invocations_per_execution"] == 1 + len(lambda_outside) + items
    sfn = next(line for line in bill.lines if line.name.startswith("Step Functions"))
    transitions = (len(OUTER) + items * len(INNER)) * 720
    assert sfn.usd == pytest.approx(transitions * 0.025 / 1000)


def test_success_path_names() -> None:
    path = cost.success_path()
    assert [v.name for v in path if not v.per_item] == OUTER
    assert [v.name for v in path if v.per_item] == INNER
    functions = {v.name: v.function for v in path}
    assert functions["TransformPartition"] == "transform"
    assert functions["SessionizeAndUpsert"] == "load"
    assert functions["ShouldPublishSuccess"] is None


def test_the_bill_follows_a_changed_definition(tmp_path: Path) -> None:
    machine = json.loads(ASL_PATH.read_text())
    states = machine["States"]
    states["Audit"] = {"Type": "Pass", "Next": states["SessionizeAndUpsert"]["Next"]}
    states["SessionizeAndUpsert"]["Next"] = "Audit"
    changed = tmp_path / "pipeline.asl.json"
    changed.write_text(json.dumps(machine))
    measured = cost.Measured.builtin()
    before = cost.estimate(100_000, measured)
    after = cost.estimate(100_000, measured, asl_path=changed)
    assert after.volumes["transitions_per_execution"] == before.volumes["transitions_per_execution"] + 1
    assert (
        after.volumes["lambda_invocations_per_execution"]
        == before.volumes["lambda_invocations_per_execution"]
    )


# -- Lambda compute ------------------------------------------------------------------


def test_lambda_time_is_measured_seconds_at_the_functions_cpu_share() -> None:
    measured = cost.Measured.from_results(results(idle_s_per_state={}))
    no_io = cost.Assumptions(s3_request_s=0.0)
    bill = cost.estimate(240_000, measured, assumptions=no_io)
    per_execution = 10_000
    # 1,024 MB: 1024/1769 of a vCPU, so a measured second lasts 1769/1024 s and bills 1 GB each
    assert bill.volumes["lambda_gb_s_transform"] == pytest.approx(per_execution / 20_000 * 1769 / 1024)
    assert bill.volumes["lambda_gb_s_load"] == pytest.approx(per_execution / 10_000 * 1769 / 1024)
    assert any("no measured idle time for ListNew" in note for note in bill.notes)
    slower = cost.estimate(240_000, cost.Measured.from_results(results(transform_s_per_event=1e-4)))
    assert (
        slower.volumes["lambda_gb_s_transform"]
        > cost.estimate(240_000, measured).volumes["lambda_gb_s_transform"]
    )


def test_memory_sizes_agree_with_infra() -> None:
    tree = ast.parse((REPO / "infra" / "constants.py").read_text())
    memory: dict[str, int] = {}
    placeholders: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "FunctionSpec":
            name, _construct, placeholder, memory_mb = (ast.literal_eval(a) for a in node.args[:4])
            memory[name] = memory_mb
            placeholders[placeholder] = name
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            if target in ("START_HOUR_MEMORY_MB", "INGEST_MEMORY_MB"):
                memory["start_hour" if target.startswith("START") else "ingest"] = ast.literal_eval(
                    node.value
                )
    assert set(memory) == {"list_new", "transform", "load", "notify", "start_hour", "ingest"}
    assert memory == cost.MEMORY_MB
    assert placeholders == cost.FUNCTION_OF_PLACEHOLDER


# -- measured figures -------------------------------------------------------------------


def test_from_results_reads_cost_inputs_and_ignores_the_rest() -> None:
    measured = cost.Measured.from_results(results())
    assert measured.transform_s_per_event == pytest.approx(5e-5)
    assert measured.load_s_per_event == pytest.approx(1e-4)
    assert measured.idle_s_per_state["SessionizeAndUpsert"] == pytest.approx(0.2)
    assert measured.machine == "aarch64, 4 cores"
    assert measured.source == "python -m bench, test"


@pytest.mark.parametrize(
    "key", ["transform_s_per_event", "load_s_per_event", "idle_s_per_state", "machine", "source"]
)
def test_from_results_names_a_missing_key(key: str) -> None:
    data = results()
    del data["cost_inputs"][key]
    with pytest.raises(ValueError, match=key):
        cost.Measured.from_results(data)


def test_from_results_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="cost_inputs"):
        cost.Measured.from_results({"transform": {}})
    with pytest.raises(ValueError, match="load_s_per_event"):
        cost.Measured.from_results(results(load_s_per_event=-1))
    with pytest.raises(ValueError, match="transform_s_per_event"):
        cost.Measured.from_results(results(transform_s_per_event="fast"))
    with pytest.raises(ValueError, match=r"idle_s_per_state\.SessionizeAndUpsert"):
        cost.Measured.from_results(results(idle_s_per_state={"SessionizeAndUpsert": None}))


def test_builtin_figures() -> None:
    measured = cost.Measured.builtin()
    assert 1 / measured.transform_s_per_event == pytest.approx(44_600)
    assert 1 / measured.load_s_per_event == pytest.approx(30_000)
    on_path = {v.name for v in cost.success_path() if v.function is not None}
    assert on_path == set(measured.idle_s_per_state)
    assert not cost.estimate(10_000, measured).notes


def test_newest_results(tmp_path: Path) -> None:
    assert cost.newest_results(tmp_path) is None
    folder = tmp_path / "bench" / "results"
    folder.mkdir(parents=True)
    assert cost.newest_results(tmp_path) is None
    for name in ("2026-01-02.json", "2026-01-10.json", "2026-01-10-b.json", "notes.json", "2026-02-01.txt"):
        (folder / name).write_text("{}")
    newest = cost.newest_results(tmp_path)
    assert newest is not None and newest.name == "2026-01-10-b.json"


# -- markdown --------------------------------------------------------------------------------


def test_render_markdown_for_the_performance_page() -> None:
    measured = cost.Measured.builtin()
    bills = [cost.estimate(n, measured) for n in VOLUMES]
    text = cost.render_markdown(bills)
    assert text.startswith("## AWS cost\n")
    header = next(line for line in text.splitlines() if line.startswith("| Line |"))
    assert header.count("events/day") == 4 and "| 10M events/day |" in header
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(bills[0].lines) + 2  # header, lines, total, free tier
    total_row = next(line for line in rows if line.startswith("| **Total**"))
    assert all(cost.usd(b.total) in total_row for b in bills)
    assert "$2.65" in text and "$74.00 to $242.00" in text and "8.6M events a day" in text
    assert "Plausible" in text and "$132" in text
    assert "## AWS cost" in cost.render_markdown(bills[:1], anchors=False)
    assert "How this compares" not in cost.render_markdown(bills, anchors=False)


# -- the command ----------------------------------------------------------------------------------


def test_cli_prints_the_bill_with_builtin_figures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cost_command, "find_results", lambda: None)
    assert cli_main(["cost", "--events-per-day", "100k"]) == 0
    out = capsys.readouterr().out
    bill = cost.estimate(100_000, cost.Measured.builtin())
    total = next(line for line in out.splitlines() if line.startswith("Total"))
    assert total.split()[-1] == cost.usd(bill.total)
    assert "EC2 t4g.micro" in out and "no bench/results/*.json" in out


def test_cli_reads_a_results_file_and_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "2026-11-23.json"
    path.write_text(json.dumps(results()))
    assert cli_main(["cost", "--events-per-day", "1000000", "--results", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["compute_from"] == str(path)
    assert data["compute"]["machine"] == "aarch64, 4 cores"
    assert data["total_usd"] == pytest.approx(sum(line["usd"] for line in data["lines"]), abs=1e-3)
    assert cli_main(["cost", "--events-per-day", "1M", "--results", str(path)]) == 0
    assert str(path) in capsys.readouterr().out


def test_cli_with_ingest_adds_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cost_command, "find_results", lambda: None)
    assert cli_main(["cost", "--events-per-day", "10000", "--with-ingest"]) == 0
    out = capsys.readouterr().out
    assert "Data Firehose" in out and "WAF" not in out and "Cognito" not in out
    assert cli_main(["cost", "--events-per-day", "10000", "--with-storefront", "--waf"]) == 0
    out = capsys.readouterr().out
    assert "WAF web ACL" in out and "Cognito" in out


def test_cli_idle_and_10m_figures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cost_command, "find_results", lambda: None)
    assert cli_main(["cost", "--events-per-day", "1", "--with-ingest", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_usd"] <= 15
    assert cli_main(["cost", "--events-per-day", "10M", "--with-ingest", "--json"]) == 0
    lines = json.loads(capsys.readouterr().out)["lines"]
    assert sum(x["usd"] for x in lines if x["group"] == "ingest") <= 132


@pytest.mark.parametrize("value", ["0", "-5"])
def test_cli_rejects_non_positive_events(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["cost", "--events-per-day", value]) == 2
    err = capsys.readouterr().err
    assert "--events-per-day" in err and len(err.strip().splitlines()) == 1


def test_cli_rejects_bad_results_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.json"
    assert cli_main(["cost", "--events-per-day", "1000", "--results", str(missing)]) == 2
    assert "cannot read" in capsys.readouterr().err
    no_inputs = tmp_path / "old.json"
    no_inputs.write_text(json.dumps({"transform": {"events_per_s": 1}}))
    assert cli_main(["cost", "--events-per-day", "1000", "--results", str(no_inputs)]) == 2
    assert "cost_inputs" in capsys.readouterr().err
    not_json = tmp_path / "broken.json"
    not_json.write_text("{")
    assert cli_main(["cost", "--events-per-day", "1000", "--results", str(not_json)]) == 2
    assert "not JSON" in capsys.readouterr().err


def test_cli_finds_the_newest_results_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bench" / "results"
    folder.mkdir(parents=True)
    (folder / "2026-11-23.json").write_text(json.dumps(results()))
    monkeypatch.chdir(tmp_path / "bench")
    assert cost_command.find_results() == folder / "2026-11-23.json"


def test_cost_md_tables_are_the_codes_output() -> None:
    # docs/COST.md embeds `python -m clickstream.tools.cost` (builtin figures); regenerate it when this fails.
    doc = (REPO / "docs" / "COST.md").read_text()
    for table in cost.cost_md_tables(cost.Measured.builtin()).strip().split("\n\n"):
        assert table in doc, table.splitlines()[0]
