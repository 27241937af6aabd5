"""Hourly clickstream analytics: the shared package the Lambda handlers, the
local runtime and the command line import."""

__version__ = "0.1.0"
