"""One place for logging, metrics and tracing (AWS Lambda Powertools).

Every handler in functions/ wears the same three decorators, in this order::

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics                                 # where the handler emits metrics
    @tracer.capture_lambda_handler(capture_response=False)

``capture_response=False``: a state's output is in the execution's history
already, and ListNew's can exceed what an X-Ray segment holds.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "clickstream"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Clickstream", service=SERVICE)
# Tracing turns itself off outside Lambda (and with POWERTOOLS_TRACE_DISABLED).
tracer = Tracer(service=SERVICE)

# An invocation with nothing to count (the load's actions other than AdvanceWatermark, any
# invocation off AWS) publishes no metrics; powertools would warn about it every time.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
