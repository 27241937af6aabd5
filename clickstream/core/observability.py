"""One place for logging, metrics and tracing (AWS Lambda Powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "clickstream"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Clickstream", service=SERVICE)
# Tracing turns itself off outside Lambda (and with POWERTOOLS_TRACE_DISABLED).
tracer = Tracer(service=SERVICE)
