"""Typed errors. Their class names are part of the state machine's interface:
Retry and Catch in statemachine/pipeline.asl.json match them by name."""


class ClickstreamError(Exception):
    """Base of every error the pipeline raises on purpose."""


# Transient: the state machine retries these with backoff and jitter.
class TransientError(ClickstreamError):
    """Base of errors worth retrying."""


class TransientStorageError(TransientError):
    """S3 answered with a throttle, a 5xx or a connection error."""


class TransientDatabaseError(TransientError):
    """PostgreSQL was unreachable, restarting, or a serialization/deadlock error."""


class WorkerLostError(TransientError):
    """The local worker process running a task died (killed, out of memory)."""


# Permanent: no retry, the execution fails and the operator is alerted.
class ContractViolation(ClickstreamError):
    """Input does not follow the event contract (used where a whole input is bad)."""


class ConfigurationError(ClickstreamError):
    """Settings are missing or wrong."""


class StagedDataMissing(ClickstreamError):
    """A staged reference points at an object that is not there."""


class InjectedFault(ClickstreamError):
    """A fault injected on purpose by tests or by the operator (FAULT_INJECT)."""


class TransientInjectedFault(TransientError):
    """A transient fault injected on purpose (retried by the state machine)."""


class HourNotClosed(ClickstreamError):
    """An hour that has not ended yet was asked to run: its partition may still receive objects."""
