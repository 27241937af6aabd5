"""clickstream lake put checks each file at the door: gzipped or plain NDJSON of JSON objects, or nothing."""

import gzip
import json
from pathlib import Path

import pytest

from clickstream.cli.commands.lake import NotNdjson, check_file

LINES = b'{"event_id": "a"}\n{"event_id": "b"}\n\n'


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_gzipped_ndjson_is_stored_byte_for_byte_and_plain_ndjson_is_gzipped(tmp_path: Path) -> None:
    body = gzip.compress(LINES)
    checked = check_file(write(tmp_path, "a.ndjson.gz", body))
    assert (checked.body, checked.lines, checked.gzipped) == (body, 2, True)
    plain = check_file(write(tmp_path, "b.ndjson", LINES))
    assert gzip.decompress(plain.body) == LINES and not plain.gzipped


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is a PNG image, not NDJSON"),
        (b"%PDF-1.7\n", "is a PDF document"),
        (gzip.compress(LINES * 200)[:-12], "is a truncated gzip file"),
        (b"\x1f\x8b\x08\x00garbage-after-the-magic", "is a corrupt gzip file"),
        (gzip.compress(b"just text\n"), "(decompressed): line 1 is not JSON"),
        (json.dumps([{"event_id": "a"}]).encode(), "line 1 is JSON but not an object (an array)"),
        (b'{"event_id": "a"}\n42\n', "line 2 is JSON but not an object (a number)"),
        (b"", "is empty"),
        (b"\n  \n", "holds no events"),
    ],
)
def test_what_is_not_ndjson_is_refused_saying_what_it_is(tmp_path: Path, data: bytes, says: str) -> None:
    with pytest.raises(NotNdjson) as raised:
        check_file(write(tmp_path, "x.ndjson.gz", data))
    assert says in str(raised.value)
