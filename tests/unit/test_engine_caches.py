"""clickstream/local/engine_caches.py: moto's engine reuses its clients and parsed JSONPaths."""

from __future__ import annotations

import importlib

import pytest

from clickstream.local import engine_caches

LAMBDA_UTILS = "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"
JSON_PATH = "moto.stepfunctions.parser.asl.utils.json_path"


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    engine_caches.install()
    engine_caches.install()  # idempotent: the second call wraps nothing again


def test_one_client_per_region_and_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_PORT", "5999")
    utils = importlib.import_module(LAMBDA_UTILS)
    first = utils.boto_client_for(region="us-east-1", service="lambda", state_credentials=object())
    again = utils.boto_client_for(region="us-east-1", service="lambda", state_credentials=object())
    other = utils.boto_client_for(region="eu-west-1", service="lambda", state_credentials=object())
    assert first is again
    assert other is not first and other.meta.region_name == "eu-west-1"
    assert first.meta.endpoint_url == "http://localhost:5999"
    monkeypatch.setenv("MOTO_PORT", "6001")  # another server: another client
    moved = utils.boto_client_for(region="us-east-1", service="lambda", state_credentials=object())
    assert moved is not first and moved.meta.endpoint_url == "http://localhost:6001"


PATHS = ("$", "$.list.items", "$.list.items[1].key", "$.list.items[*].key", "$.hour", "$.list.items[0]")


def test_paths_parsed_once_with_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    json_path = importlib.import_module(JSON_PATH)
    data = {"list": {"items": [{"key": "a"}, {"key": "b"}]}, "hour": "2025-09-14T00"}
    before = json_path.parse.cache_info().hits
    cached = [json_path.extract_json(path, data) for path in PATHS * 2]
    assert json_path.parse.cache_info().hits >= before + len(PATHS)
    with monkeypatch.context() as patched:
        patched.setattr(json_path, "parse", json_path.parse.__wrapped__)  # moto's own, uncached
        uncached = [json_path.extract_json(path, data) for path in PATHS * 2]
    assert cached == uncached
    assert cached[1] == [{"key": "a"}, {"key": "b"}]
    with pytest.raises(json_path.NoSuchJsonPathError):
        json_path.extract_json("$.missing", data)
