"""Dashboards: on the warehouse host, private by default; HTTPS and Cognito sign-in only when asked."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from infra import constants as c
from tests.support.cdk import DASHBOARD_CERTIFICATE, DASHBOARD_DOMAIN, Synth, synthesize
from tests.support.template import Template


def shell(template: Template) -> str:
    return template.text(template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"]["UserData"])


def test_by_default_the_app_listens_on_localhost_reached_by_port_forwarding(template: Template) -> None:
    assert "dashboards.zip --bind 127.0.0.1 --port 8000" in shell(template)
    assert template.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") == {}
    assert [p for p in template.of_type("AWS::Cognito::UserPool") if p.startswith("Dashboards/")] == []
    command = template.text(template.body["Outputs"]["DashboardsPortForwarding"]["Value"])
    assert command == (
        "aws ssm start-session --region ${AWS::Region} --target <Warehouse/Host>"
        " --document-name AWS-StartPortForwardingSession"
        ' --parameters \'{"portNumber":["8000"],"localPortNumber":["8000"]}\''
    )


def test_public_dashboards_sit_behind_https_and_cognito_sign_in(public_template: Template) -> None:
    (listener,) = public_template.of_type("AWS::ElasticLoadBalancingV2::Listener").values()
    props = public_template.resolve(listener["Properties"])
    assert props["Protocol"] == "HTTPS" and props["Port"] == 443
    assert props["Certificates"] == [{"CertificateArn": DASHBOARD_CERTIFICATE}]
    authenticate, forward = sorted(props["DefaultActions"], key=lambda a: a["Order"])
    assert authenticate["Type"] == "authenticate-cognito"
    assert authenticate["AuthenticateCognitoConfig"]["UserPoolArn"] == "<Dashboards/Users.Arn>"
    assert forward["Type"] == "forward"
    (alb,) = public_template.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert alb["Properties"]["Scheme"] == "internet-facing"
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_public_dashboards_user_pool_is_admin_only_with_mfa(public_template: Template) -> None:
    pool = public_template.one("AWS::Cognito::UserPool", "Dashboards/Users")  # not ingest's shoppers
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert props["MfaConfiguration"] == "ON"
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert props["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    client = public_template.one("AWS::Cognito::UserPoolClient", "Dashboards/Users/Dashboards")
    assert client["Properties"]["CallbackURLs"] == [f"https://{DASHBOARD_DOMAIN}/oauth2/idpresponse"]
    assert client["Properties"]["GenerateSecret"] is True


def test_public_dashboards_only_the_load_balancer_reaches_the_app_port(public_template: Template) -> None:
    assert f"--bind 0.0.0.0 --port {c.DASHBOARD_PORT}" in shell(public_template)
    rules = [
        public_template.resolve(r["Properties"])
        for r in public_template.of_type("AWS::EC2::SecurityGroupIngress").values()
        if public_template.text(r["Properties"]["GroupId"]) == "<Warehouse/HostSg.GroupId>"
    ]
    sources = {(r["FromPort"], r["SourceSecurityGroupId"]) for r in rules}
    assert sources == {
        (c.DB_PORT, "<Pipeline/DatabaseClientsSg.GroupId>"),
        (c.DASHBOARD_PORT, "<Dashboards/LoadBalancerSg.GroupId>"),
    }
    (alb_sg,) = [
        sg
        for path, sg in public_template.of_type("AWS::EC2::SecurityGroup").items()
        if path == "Dashboards/LoadBalancerSg"
    ]
    ingress = alb_sg["Properties"]["SecurityGroupIngress"]
    assert [(r["CidrIp"], r["FromPort"]) for r in ingress] == [("0.0.0.0/0", 443)]


def test_public_dashboards_add_public_subnets_but_still_no_nat(public_template: Template) -> None:
    assert public_template.of_type("AWS::EC2::NatGateway") == {}
    subnets = public_template.of_type("AWS::EC2::Subnet")
    assert sum("Public" in path for path in subnets) == c.MAX_AZS
    # the host stays where warehouse_access puts it (a public subnet by default, no inbound rule)
    host = public_template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"]
    subnet = public_template.text(host["NetworkInterfaces"][0]["SubnetId"])
    assert subnet == "<Warehouse/Vpc/PublicSubnet1/Subnet>"


def test_domain_without_certificate_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match="give both"):
        synthesize(tmp_path, **{c.DASHBOARD_DOMAIN_CONTEXT: DASHBOARD_DOMAIN})


def test_turning_public_dashboards_on_never_replaces_the_warehouse(
    template: Template, public_template: Template
) -> None:
    # Given the same stack without and with the load balancer
    before = template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"]
    after = public_template.one("AWS::EC2::Instance", "Warehouse/Host")["Properties"]
    # Then only the user data differs (a stop and start; the volume and its data stay)
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} == {"UserData"}
    for path, subnet in template.of_type("AWS::EC2::Subnet").items():
        assert (
            public_template.one("AWS::EC2::Subnet", path)["Properties"]["CidrBlock"]
            == (subnet["Properties"]["CidrBlock"])
        )


def test_the_dashboards_bundle_ships_the_queries_sql_files(default_synth: Synth) -> None:
    # Given the staged dashboards bundle (the asset that holds shiny/app.py)
    manifest = json.loads((default_synth.outdir / f"{c.STACK_ID}.assets.json").read_text())
    sources = {default_synth.outdir / f["source"]["path"] for f in manifest["files"].values()}
    (bundle,) = [path for path in sources if (path / "shiny" / "app.py").is_file()]
    # Then every statement of shiny/sql/ is in it, as it is in the repository
    statements = sorted(p.relative_to(c.SHINY_DIR).as_posix() for p in (c.SHINY_DIR / "sql").rglob("*.sql"))
    assert statements
    for name in statements:
        assert (bundle / "shiny" / name).read_bytes() == (c.SHINY_DIR / name).read_bytes(), name


def test_the_dashboards_read_notifys_health_snapshot_from_the_lake(
    template: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The host's command names the region and the lake; the script turns them into the
    # service's environment, which the app's settings read (shiny/config.py)
    assert "--region ${AWS::Region} --health-snapshot-bucket <Storage/Lake>" in shell(template)
    script = (c.HOST_SCRIPTS_DIR / "dashboards.sh").read_text()
    assert "--health-snapshot-bucket) health_bucket=$2 ;;" in script
    assert "Environment=HEALTH_SNAPSHOT_BUCKET=${health_bucket}\n" in script
    assert "Environment=AWS_DEFAULT_REGION=${region:-us-east-1}\n" in script
    spec = importlib.util.spec_from_file_location("dashboard_config", c.SHINY_DIR / "config.py")
    assert spec is not None and spec.loader is not None
    config = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, config)
    spec.loader.exec_module(config)
    monkeypatch.setenv("HEALTH_SNAPSHOT_BUCKET", "lake")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    settings = config.DashboardSettings()
    assert (settings.health_snapshot_bucket, settings.aws_default_region) == ("lake", "eu-west-1")
