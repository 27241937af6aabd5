"""Helpers shared by the test files: the one place a test imports a helper from.

A test file imports plain functions, classes and constants from here, never
from another test file or a conftest.py; fixtures stay in conftest.py (the
ones several layers use in tests/conftest.py).

- ``transform``: valid contract lines and one-batch runs of the transformer;
- ``staged``: staged batches and worklists written where transform writes them;
- ``upsert``: lists of staged events loaded through SessionizeAndUpsert, a run each;
- ``postgres``: embedded PostgreSQL servers and fresh databases;
- ``aws``: what a handler reads from the Lambda context;
- ``ingest``: an event as the tracker posts it, HTTP requests and CORS preflights to an ingest endpoint;
- ``browser``: the system's Chromium, driven by Playwright;
- ``stack``: ``clickstream up`` in a subprocess, for the e2e tests;
- ``cdk``, ``iam``, ``template``: the synthesized CDK app and how the infra tests read it;
- ``dashboard_sample``: the hand-countable warehouse of the dashboard tests;
- ``real_samples``: where the real datasets' samples are (beside the repository).
"""
