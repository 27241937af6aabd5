"""The synthesized default stack is the stack clickstream/tools/cost.py bills (docs/COST.md).

Every fixed line of the model is read back from the template: the instance type and disk,
how Session Manager reaches the host (a public IPv4 address, no interface endpoints), no WAF
by default, the raw/ Firehose stream and its buffering, the alarms' metrics, the secrets and
the KMS keys, the ingest function's memory and logging. A change to either side fails here
until the other follows.
"""

from __future__ import annotations

from typing import Any

from clickstream.tools import cost
from infra import constants as c
from tests.support.template import Template

A = cost.Assumptions()


def idle() -> cost.Bill:
    return cost.estimate(1, cost.Measured.builtin(), with_ingest=True)


def line_names(bill: cost.Bill) -> set[str]:
    return {line.name for line in bill.lines}


def test_the_instance_and_its_disk_are_the_models(template: Template) -> None:
    props = template.resolve(template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"])
    assert props["InstanceType"] == A.instance == c.WAREHOUSE_INSTANCE_TYPE
    assert f"EC2 {A.instance}, on demand, 730 h" in line_names(idle())
    assert props["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == A.volume_min_gb == c.WAREHOUSE_VOLUME_GB


def test_session_manager_reaches_the_host_through_its_public_address_not_endpoints(
    template: Template,
) -> None:
    assert A.warehouse_access == c.WAREHOUSE_ACCESS_DEFAULT == "public-ip"
    interface = [
        e
        for e in template.of_type("AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert interface == []
    props = template.resolve(template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"])
    assert props["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is True
    names = line_names(idle())
    assert "Public IPv4 address of the host (Session Manager; no inbound rule)" in names
    assert not any(n.startswith("VPC interface endpoints") for n in names)
    assert template.of_type("AWS::EC2::EIP") == {}  # the address is the instance's own, billed as one
    assert template.of_type("AWS::EC2::NatGateway") == {}


def test_no_web_acl_by_default_and_none_in_the_bill(template: Template) -> None:
    assert template.of_type("AWS::WAFv2::WebACL") == {}
    assert not any("WAF" in n for n in line_names(idle()))


def test_the_raw_stream_is_the_models(template: Template) -> None:
    [stream] = template.of_type("AWS::KinesisFirehose::DeliveryStream").values()
    s3: dict[str, Any] = template.resolve(stream["Properties"])["ExtendedS3DestinationConfiguration"]
    assert s3["BufferingHints"] == {"IntervalInSeconds": A.stream_buffer_s, "SizeInMBs": A.stream_buffer_mb}
    assert s3["CompressionFormat"] == "GZIP"
    assert "DynamicPartitioningConfiguration" not in s3  # billed per GB and object if it were on
    assert "DataFormatConversionConfiguration" not in s3
    assert any(n.startswith("Data Firehose") for n in line_names(idle()))
    # the ingest function puts records, never S3 objects (the model has no per-request PUT)
    function_policies = [
        template.resolve(p["Properties"])
        for path, p in template.of_type("AWS::IAM::Policy").items()
        if "Ingest/FunctionRole" in path
    ]
    actions = {
        a for p in function_policies for s in p["PolicyDocument"]["Statement"] for a in _list(s["Action"])
    }
    assert "s3:PutObject" not in actions and "firehose:PutRecordBatch" in actions


def test_the_ingest_function_logs_what_the_model_counts(template: Template) -> None:
    function = template.resolve(template.one("AWS::Lambda::Function", "Ingest/Function")["Properties"])
    assert function["MemorySize"] == cost.MEMORY_MB["ingest"]
    assert function["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "WARNING"
    assert function["LoggingConfig"]["SystemLogLevel"] == "WARN"  # no START/END/REPORT lines
    assert "TracingConfig" not in function or function["TracingConfig"] == {"Mode": "PassThrough"}


def test_alarm_metrics_secrets_and_keys_are_the_models(template: Template) -> None:
    billed = 0
    for alarm in template.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if "Metrics" in props:  # metric math: each metric it reads is billed
            billed += sum(1 for m in props["Metrics"] if "MetricStat" in m)
        else:
            billed += 1
    ingest_alarms = 2  # the dead-letter queue's depth, the ingest function's errors
    assert billed == A.alarm_metrics + ingest_alarms
    assert len(template.of_type("AWS::SecretsManager::Secret")) == A.secrets
    assert len(template.of_type("AWS::KMS::Key")) == 1
    assert "KMS customer managed key (alert topic)" in line_names(idle())


def test_idle_and_10m_targets() -> None:
    assert idle().total <= 15.0
    big = cost.estimate(10_000_000, cost.Measured.builtin(), with_ingest=True)
    assert big.group_total("ingest") <= 132.0


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
