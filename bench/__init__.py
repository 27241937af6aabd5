"""Benchmarks: ``python -m bench [NAME] [ARGS]`` (``make bench``)."""
