"""Warehouse: the network (no NAT), the PostgreSQL host, its password, its snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import constants as c
from tests.support.cdk import Synth, cfn_lint_findings, nag_findings, synthesize
from tests.support.template import Template


@pytest.fixture(scope="module")
def endpoints_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """-c warehouse_access=endpoints: the host in an isolated subnet, Session Manager's endpoints."""
    return synthesize(
        tmp_path_factory.mktemp("cdk-endpoints"),
        **{c.WAREHOUSE_ACCESS_CONTEXT: c.WAREHOUSE_ACCESS_ENDPOINTS},
    )


def user_data(template: Template) -> str:
    host = template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"]
    # the shell part is base64 of a join: rendered as text, the asset keys readable
    return template.text(host["UserData"])


def test_by_default_the_host_has_a_public_subnet_and_address_and_nothing_admits_the_internet(
    template: Template,
) -> None:
    assert template.of_type("AWS::EC2::NatGateway") == {}
    assert template.of_type("AWS::EC2::EIP") == {}
    assert len(template.of_type("AWS::EC2::InternetGateway")) == 1  # for the host's way out to SSM
    subnets = template.of_type("AWS::EC2::Subnet")
    assert sum("Isolated" in path for path in subnets) == c.MAX_AZS  # the functions
    assert sum("Public" in path for path in subnets) == c.MAX_AZS
    props = template.resolve(template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"])
    assert props["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is True
    assert props["NetworkInterfaces"][0]["SubnetId"] == "<Warehouse/Vpc/PublicSubnet1/Subnet>"
    host_sg = template.one("AWS::EC2::SecurityGroup", "Warehouse/HostSg")["Properties"]
    assert "SecurityGroupIngress" not in host_sg
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in host_sg["SecurityGroupEgress"]] == [
        ("tcp", 443, 443)
    ]


def test_by_default_no_interface_endpoints_and_s3_stays_on_the_gateway_endpoint(template: Template) -> None:
    endpoints = [
        template.resolve(e["Properties"]) for e in template.of_type("AWS::EC2::VPCEndpoint").values()
    ]
    assert [template.text(e["ServiceName"]) for e in endpoints] == ["com.amazonaws.${AWS::Region}.s3"]
    [s3] = endpoints
    assert s3["VpcEndpointType"] == "Gateway"
    tables = {t for t in s3["RouteTableIds"]}
    assert any("Public" in t for t in tables) and any("Isolated" in t for t in tables)


def test_with_endpoints_the_vpc_has_isolated_subnets_only_no_internet_gateway(endpoints_synth: Synth) -> None:
    template = endpoints_synth.template
    assert template.of_type("AWS::EC2::NatGateway") == {}
    assert template.of_type("AWS::EC2::InternetGateway") == {}
    assert template.of_type("AWS::EC2::EIP") == {}
    subnets = template.of_type("AWS::EC2::Subnet")
    assert len(subnets) == c.MAX_AZS
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    assert all("Isolated" in path for path in subnets)
    props = template.resolve(template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"])
    assert props["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is False
    assert props["NetworkInterfaces"][0]["SubnetId"] == "<Warehouse/Vpc/IsolatedSubnet1/Subnet>"


def test_with_endpoints_they_are_the_free_s3_gateway_and_the_two_session_manager_ones(
    endpoints_synth: Synth,
) -> None:
    template = endpoints_synth.template
    endpoints = {
        template.text(e["Properties"]["ServiceName"]): e["Properties"]
        for e in template.of_type("AWS::EC2::VPCEndpoint").values()
    }
    assert set(endpoints) == {
        "com.amazonaws.${AWS::Region}.s3",
        "com.amazonaws.us-east-1.ssm",
        "com.amazonaws.us-east-1.ssmmessages",
    }
    assert endpoints["com.amazonaws.${AWS::Region}.s3"]["VpcEndpointType"] == "Gateway"
    for name in ("ssm", "ssmmessages"):
        props = template.resolve(endpoints[f"com.amazonaws.us-east-1.{name}"])
        assert props["VpcEndpointType"] == "Interface"
        assert props["SubnetIds"] == ["<Warehouse/Vpc/IsolatedSubnet1/Subnet>"]  # one AZ: the host's
        assert props["SecurityGroupIds"] == ["<Warehouse/EndpointSg.GroupId>"]
    assert nag_findings(endpoints_synth) == []
    assert cfn_lint_findings(endpoints_synth) == []


def test_warehouse_access_takes_the_two_modes_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="public-ip or endpoints"):
        synthesize(tmp_path, **{c.WAREHOUSE_ACCESS_CONTEXT: "vpn"})


def test_flow_logs_go_to_the_log_bucket(template: Template) -> None:
    (flow_log,) = template.of_type("AWS::EC2::FlowLog").values()
    props = template.resolve(flow_log["Properties"])
    assert props["LogDestinationType"] == "s3"
    assert props["LogDestination"] == "<Storage/Logs.Arn>/vpc-flow-logs/"
    assert props["TrafficType"] == "ALL"


def test_host_is_a_micro_graviton_with_encrypted_gp3_and_imdsv2(template: Template) -> None:
    props = template.resolve(template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"])
    assert props["InstanceType"] == "t4g.micro"
    # resolved at launch: a deploy never replaces the host because a new AMI came out
    assert props["ImageId"] == f"resolve:ssm:{c.AMI_PARAMETER}"
    assert props["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {"DeleteOnTermination": True, "Encrypted": True, "VolumeSize": 20, "VolumeType": "gp3"},
        }
    ]
    assert props["MetadataOptions"] == {"HttpTokens": "required"}
    assert props["DisableApiTermination"] is True
    assert props["CreditSpecification"] == {"CPUCredits": "standard"}
    assert {"Key": "clickstream-snapshot", "Value": "daily"} in props["Tags"]


def test_user_data_bootstraps_postgres_and_applies_the_migrations_asset_at_every_boot(
    template: Template,
) -> None:
    text = user_data(template)
    assert "cloud_final_modules:\n- [scripts-user, always]" in text
    assert "bash /opt/clickstream/bootstrap/warehouse.sh" in text
    assert "--migrations /opt/clickstream/bootstrap/migrations.zip" in text
    assert f"--pg-major {c.POSTGRES_MAJOR}" in text
    assert "--secret-name '${AWS::StackName}/warehouse/pipeline'" in text
    assert "bash /opt/clickstream/bootstrap/dashboards.sh" in text
    assert text.index("warehouse.sh --region") < text.index("dashboards.sh --bundle")


def test_migrations_asset_is_the_sql_directory(default_synth) -> None:  # type: ignore[no-untyped-def]
    import json

    manifest = json.loads((default_synth.outdir / f"{c.STACK_ID}.assets.json").read_text())
    sources = {f["source"]["path"] for f in manifest["files"].values()}
    shipped = [default_synth.outdir / path for path in sources if (default_synth.outdir / path).is_dir()]
    expected = sorted(p.name for p in c.SQL_DIR.iterdir())
    sql = [d for d in shipped if sorted(p.name for p in d.iterdir()) == expected]
    assert sql, "sql/ is not shipped as an asset"


def test_database_port_admits_only_the_pipeline_functions(template: Template) -> None:
    ingress = template.of_type("AWS::EC2::SecurityGroupIngress").values()
    rules = [template.resolve(r["Properties"]) for r in ingress]
    to_host = [r for r in rules if r["GroupId"] == "<Warehouse/HostSg.GroupId>"]
    assert to_host == [
        {
            "Description": "pipeline functions",
            "FromPort": c.DB_PORT,
            "ToPort": c.DB_PORT,
            "IpProtocol": "tcp",
            "GroupId": "<Warehouse/HostSg.GroupId>",
            "SourceSecurityGroupId": "<Pipeline/DatabaseClientsSg.GroupId>",
        }
    ]
    host_sg = template.one("AWS::EC2::SecurityGroup", "Warehouse/HostSg")["Properties"]
    assert "SecurityGroupIngress" not in host_sg


def test_no_security_group_admits_the_internet(template: Template) -> None:
    for path, sg in template.of_type("AWS::EC2::SecurityGroup").items():
        for rule in sg["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0", path
    for rule in template.of_type("AWS::EC2::SecurityGroupIngress").values():
        assert "CidrIp" not in rule["Properties"]


def test_password_is_generated_url_safe(template: Template) -> None:
    props = template.one("AWS::SecretsManager::Secret", "Warehouse/PipelinePassword")["Properties"]
    generated = props["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password"
    assert generated["ExcludePunctuation"] is True
    assert generated["SecretStringTemplate"] == '{"username": "pipeline"}'


def test_daily_snapshots_of_the_host_kept_seven_days(template: Template) -> None:
    (policy,) = template.of_type("AWS::DLM::LifecyclePolicy").values()
    props = template.resolve(policy["Properties"])
    assert props["State"] == "ENABLED"
    assert props["ExecutionRoleArn"] == "<Warehouse/SnapshotRole.Arn>"
    details = props["PolicyDetails"]
    assert details["ResourceTypes"] == ["INSTANCE"]
    assert details["TargetTags"] == [{"Key": "clickstream-snapshot", "Value": "daily"}]
    (schedule,) = details["Schedules"]
    assert schedule["CreateRule"] == {"Interval": 24, "IntervalUnit": "HOURS", "Times": ["03:00"]}
    assert schedule["RetainRule"] == {"Count": 7}
