"""The clickstream stack: storage, warehouse, pipeline (with its alarms), dashboards and ingest."""

from __future__ import annotations

from aws_cdk import Stack, Tags
from constructs import Construct

from clickstream.core.origins import parse_origins
from infra import constants as c
from infra.capabilities.alarms import PipelineAlarms
from infra.capabilities.dashboards import Dashboards
from infra.capabilities.ingest import Ingest
from infra.capabilities.pipeline import Pipeline
from infra.capabilities.storage import Storage
from infra.capabilities.warehouse import Warehouse


class ClickstreamStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        context = self.node.try_get_context
        full_bundling = (context(c.BUNDLING_CONTEXT) or c.BUNDLING_FULL) == c.BUNDLING_FULL
        domain = context(c.DASHBOARD_DOMAIN_CONTEXT)
        certificate = context(c.DASHBOARD_CERTIFICATE_CONTEXT)
        if bool(domain) != bool(certificate):
            raise ValueError(
                f"give both -c {c.DASHBOARD_DOMAIN_CONTEXT}=... and "
                f"-c {c.DASHBOARD_CERTIFICATE_CONTEXT}=..., or neither"
            )
        waf = context(c.INGEST_WAF_CONTEXT)
        waf = (
            c.INGEST_WAF_DEFAULT
            if waf is None
            else "on"
            if waf is True
            else "off"
            if waf is False
            else str(waf)
        )
        if waf not in ("on", "off"):
            raise ValueError(f"-c {c.INGEST_WAF_CONTEXT}= takes on or off, not {waf!r}")
        if waf == "on" and self.region != c.WAF_REGION:
            raise ValueError(
                f"the storefront's WAF web ACL (CLOUDFRONT scope) can only be created in {c.WAF_REGION}: "
                f"deploy the stack there (-c {c.REGION_CONTEXT}={c.WAF_REGION}), or deploy to "
                f"{self.region} without WAF (-c {c.INGEST_WAF_CONTEXT}=off)"
            )
        try:
            allowed_origins = parse_origins(context(c.ALLOWED_ORIGINS_CONTEXT))
        except ValueError as exc:
            raise ValueError(f"-c {c.ALLOWED_ORIGINS_CONTEXT}=: {exc}") from exc
        business_alerts = _business_alerts(context(c.BUSINESS_ALERTS_CONTEXT))
        business_threshold = _business_threshold(context(c.BUSINESS_ALERT_THRESHOLD_CONTEXT))
        if full_bundling:
            missing = [
                f"functions/{name}/handler.py"
                for name in (*(spec.name for spec in c.PIPELINE_FUNCTIONS), c.INGEST_FUNCTION)
                if not (c.FUNCTIONS_DIR / name / "handler.py").is_file()
            ]
            if missing:
                raise FileNotFoundError(
                    f"cannot bundle the pipeline for deployment, missing: {', '.join(missing)} "
                    "(the template tests bundle placeholders with "
                    f"-c {c.BUNDLING_CONTEXT}={c.BUNDLING_SOURCE})"
                )
        Tags.of(self).add(*c.PROJECT_TAG)

        self.storage = Storage(self, "Storage")
        self.warehouse = Warehouse(
            self,
            "Warehouse",
            logs_bucket=self.storage.logs,
            public_subnets=bool(domain),
            instance_type=str(context(c.WAREHOUSE_INSTANCE_TYPE_CONTEXT) or c.WAREHOUSE_INSTANCE_TYPE),
            volume_gb=int(context(c.WAREHOUSE_VOLUME_GB_CONTEXT) or c.WAREHOUSE_VOLUME_GB),
            access=str(context(c.WAREHOUSE_ACCESS_CONTEXT) or c.WAREHOUSE_ACCESS_DEFAULT),
        )
        self.pipeline = Pipeline(
            self,
            "Pipeline",
            storage=self.storage,
            warehouse=self.warehouse,
            full_bundling=full_bundling,
            password_version=context(c.PIPELINE_PASSWORD_VERSION_CONTEXT),
            business_alerts=business_alerts,
            business_alert_threshold=business_threshold,
        )
        self.alarms = PipelineAlarms(
            self,
            "Alarms",
            state_machine=self.pipeline.state_machine,
            topic=self.pipeline.topic,
        )
        self.dashboards = Dashboards(
            self,
            "Dashboards",
            warehouse=self.warehouse,
            lake=self.storage.lake,
            logs_bucket=self.storage.logs,
            full_bundling=full_bundling,
            domain_name=domain,
            certificate_arn=certificate,
            auth_domain_prefix=context(c.DASHBOARD_AUTH_PREFIX_CONTEXT),
        )
        self.ingest = Ingest(
            self,
            "Ingest",
            storage=self.storage,
            pipeline=self.pipeline,
            full_bundling=full_bundling,
            waf=waf == "on",
            allowed_origins=allowed_origins,
        )
        self.pipeline.watch_health(ingest=self.ingest.function, dead_letters=self.ingest.dead_letters)


def _business_alerts(value: object) -> bool:
    if value is None or value is True or value in ("on", "true"):
        return True
    if value is False or value in ("off", "false"):
        return False
    raise ValueError(f"-c {c.BUSINESS_ALERTS_CONTEXT}= takes on or off, not {value!r}")


def _business_threshold(value: object) -> float:
    if value is None:
        return c.BUSINESS_ALERT_THRESHOLD
    try:
        threshold = float(str(value))
    except ValueError:
        threshold = -1.0
    if not 0 < threshold <= 10:
        raise ValueError(
            f"-c {c.BUSINESS_ALERT_THRESHOLD_CONTEXT}= takes a share of the baseline above 0 "
            f"(0.3 alerts on a change of more than 30 %), not {value!r}"
        )
    return threshold
