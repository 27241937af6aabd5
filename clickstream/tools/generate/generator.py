"""Generate a raw lake of shop traffic, with faults on request, and the exact truth about it.

The run, in order:

1. For each hour of the range, draw how many visits start in it (daily and
   weekly rhythm), simulate them (``traffic.Traffic``) and turn every hit into
   a contract event: event id, the tracker's session id (a new one after 30
   minutes idle), receive time (ts plus milliseconds to seconds; whole
   sessions arrive hours or days late when ``late_rate`` picks them).
2. Faults, per event: malformed line, contract violation, PII, each with its
   rate; duplicates of any line with ``duplicate_rate`` (byte-identical in the
   same or a later object of the hour, or re-sent later with a new received_at).
3. Lines wait in their receive hour; once no later visit can reach an hour it
   is cut into objects (``writer.batches``), some of which are corrupted or
   accompanied by an empty object (``malformed_rate`` per object), and yielded.

Three independent random streams come from the seed: traffic, faults and
object keys. So the same seed with and without faults gives the same visits
and event ids, and the same seed and knobs give byte-identical objects and keys.
"""

from __future__ import annotations

import gc
import random
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from clickstream.core.contract import EventType
from clickstream.tools.generate import faults
from clickstream.tools.generate.traffic import HOUR_MS, Hit, Traffic, Visitor, hour_weight, uuid4_text
from clickstream.tools.generate.writer import (
    IsoMs,
    Limits,
    batches,
    gzip_lines,
    hour_prefix,
    object_key,
    write_objects,
)

TRUTH_FILE = "_generated.json"
SESSION_IDLE_MS = 30 * 60_000

# The --faults mix: what a bad day in production looks like.
FAULT_MIX = {
    "duplicate_rate": 0.02,
    "late_rate": 0.02,
    "malformed_rate": 0.005,
    "violation_rate": 0.005,
    "pii_rate": 0.01,
}

# Line kinds, as stored with each line until its object is written.
VALID, PII, FUTURE, MALFORMED, VIOLATION, TOO_LATE = range(6)
_REJECT_NAMES = {MALFORMED: "malformed", VIOLATION: "violation", TOO_LATE: "too_late"}
REJECT_REASONS = ("malformed", "violation", "too_late", "corrupt_object")
_TYPES = [t.value for t in EventType]
_TYPE_CODE = {name: code for code, name in enumerate(_TYPES)}
_PURCHASE = _TYPE_CODE["purchase"]
_LOOKAHEAD = 32  # objects being gzipped ahead of the consumer

# (kind, event serial, detail, received more than an hour after ts, event type code, ts)
_Tag = tuple[int, int, str | None, bool, int, int]
# (order in the hour, sequence number, line, tag)
_Entry = tuple[int, int, bytes, _Tag]


class GeneratorConfig(BaseModel):
    """What to generate. Rates are shares of events (late: of sessions; malformed objects: of objects)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 1
    start: AwareDatetime = datetime(2025, 10, 13, tzinfo=UTC)
    hours: int = Field(default=24, ge=1, le=24 * 400)
    events_per_day: int = Field(default=20_000, ge=0)
    duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    late_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    violation_rate: float = Field(default=0.0, ge=0, le=1)
    pii_rate: float = Field(default=0.0, ge=0, le=1)
    # Share of new visitors that are crawlers with real crawler user agents (traffic.CRAWLER_USER_AGENTS):
    # their valid lines (every copy) are filtered by the transform (docs/BOTS.md), Truth.filtered_lines.
    crawler_rate: float = Field(default=0.0, ge=0, le=1)
    # The tracker's product lists (traffic.py): an impression event for each list a page shows and
    # the list named on a click from it (GA4's view_item_list / select_item), for the Products
    # page's list CTR. Off by default: the traffic of an older tracker, byte for byte.
    list_impressions: bool = False
    max_object_lines: int = Field(default=5_000, ge=1)
    max_object_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    gzip_level: int = Field(default=1, ge=1, le=9)  # ingest favours speed; 1 gives about 7x

    @field_validator("start")
    @classmethod
    def _whole_utc_hour(cls, value: datetime) -> datetime:
        value = value.astimezone(UTC)
        if value != value.replace(minute=0, second=0, microsecond=0):
            raise ValueError("start must be a whole UTC hour")
        return value

    @model_validator(mode="after")
    def _content_rates(self) -> GeneratorConfig:
        if self.malformed_rate + self.violation_rate + self.pii_rate > 1:
            raise ValueError("malformed_rate + violation_rate + pii_rate must not exceed 1")
        return self

    @classmethod
    def with_faults(cls, **overrides: Any) -> GeneratorConfig:
        """The config with the ``FAULT_MIX`` rates, then ``overrides``."""
        return cls(**{**FAULT_MIX, **overrides})

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)


class CorruptObject(BaseModel):
    key: str
    lines: int  # lines the object was meant to hold
    lines_decodable: int  # complete lines a streaming gunzip yields before the damage
    damage: str  # truncated | bad_first_block


class PartitionCount(BaseModel):
    objects: int = 0
    lines: int = 0  # including the lines meant for corrupt objects


class Truth(BaseModel):
    """Exact counts of what a run wrote, for tests and for reconciling the pipeline.

    Every line written is exactly one of the following, checked in this order
    (the same rules the transform applies):

    1. **corrupt_object** (reject): the line sits in an object that does not
       gunzip (listed in ``corrupt_objects`` with the number of lines it was
       meant to hold). The whole object is quarantined. A reader still decodes
       the object's first ``lines_decodable`` complete lines before the damage
       (the same for every streaming reader that flushes; the transform counts
       them as read and rejected, ``corrupt_gzip``); the other
       ``quarantined_lines_unread`` lines are never seen by it.
    2. **malformed** (reject): the line is longer than 32 KiB
       (``contract.MAX_LINE_BYTES``, newline excluded), or is not valid UTF-8,
       or does not parse as one JSON object.
    3. **violation** (reject): parses, but ``RawEvent.model_validate_json`` fails.
    4. **too_late** (reject): valid by contract, but
       ``received_at - ts > 72 h`` (ts as sent; a ts in the future is never too late).
    5. **valid**: everything else. Of the valid lines with the same event_id the
       first loads and the others are **duplicates** (copies differ at most in
       received_at). A duplicate of a rejected line is rejected for the same reason.
    6. **filtered** (checked before duplicates): a valid line of a crawler visitor
       (``crawler_rate``), every copy of it; the transform's bot filter counts it
       and does not load it.

    So ``lines_written == unique_valid_events + duplicate_lines + rejected_lines + filtered_lines``, and
    the pipeline's own count reconciles as
    ``lines_read == lines_written - quarantined_lines_unread``.
    Valid lines include PII (``pii_lines``: e-mail/phone/name in props, or an e-mail
    as user_id; the transform hashes or drops it) and future timestamps
    (``future_ts_lines``: ts more than 5 min after received_at; the transform clamps ts).
    Empty objects (zero bytes, or a gzip of nothing) hold no lines.
    """

    config: GeneratorConfig
    lines_written: int = 0
    objects_written: int = 0
    unique_valid_events: int = 0
    duplicate_lines: int = 0
    filtered_lines: int = 0  # valid lines of crawlers, every copy (crawler_rate): counted, never loaded
    rejected_lines: int = 0
    rejects: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(REJECT_REASONS, 0))
    reject_details: dict[str, int] = Field(default_factory=dict)
    pii_lines: int = 0
    pii_details: dict[str, int] = Field(default_factory=dict)
    future_ts_lines: int = 0
    late_lines: int = 0  # valid lines received more than an hour after ts
    valid_by_event_type: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(_TYPES, 0))
    revenue_by_currency: dict[str, Decimal] = Field(default_factory=dict)  # unique valid purchases
    ts_min: str | None = None  # over unique valid events, future timestamps excluded
    ts_max: str | None = None
    empty_objects: list[str] = Field(default_factory=list)
    corrupt_objects: list[CorruptObject] = Field(default_factory=list)
    quarantined_lines_unread: int = 0  # sum of lines - lines_decodable over corrupt_objects
    partitions: dict[str, PartitionCount] = Field(default_factory=dict)  # receive hour -> counts

    @property
    def expected_rejected_lines(self) -> int:
        """Rejected lines including every line meant for a corrupt object (= ``rejected_lines``).

        A reader that cannot see unread quarantined lines finds
        ``expected_rejected_lines - quarantined_lines_unread`` rejects.
        """
        return self.rejected_lines


class TrafficGenerator:
    """One run: iterate ``objects()`` once, then read ``truth``."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.tally = _Tally()
        self.truth: Truth | None = None  # set when objects() is exhausted
        self.trng = random.Random(f"{config.seed}:traffic")
        self.frng = random.Random(f"{config.seed}:faults")
        self.krng = random.Random(f"{config.seed}:keys")
        self.traffic = Traffic(
            self.trng, crawler_rate=config.crawler_rate, list_impressions=config.list_impressions
        )
        self.crawler_serials: set[int] = set()  # serials of crawlers' events
        self.iso = IsoMs()
        self.limits = Limits(max_lines=config.max_object_lines, max_bytes=config.max_object_bytes,
                             gzip_level=config.gzip_level)  # fmt: skip
        # receive hour (epoch ms // HOUR_MS) -> its lines
        self.buckets: dict[int, list[_Entry]] = {}
        self.seq = 0
        self.serial = 0  # events made so far; an event's serial numbers its lines' tags
        self.seen = bytearray()  # per serial: a valid line of the event has been counted
        self.revenue: dict[int, tuple[str, int]] = {}  # purchase serial -> (currency, cents)
        self.content_faults = config.malformed_rate + config.violation_rate + config.pii_rate > 0

    # --------------------------------------------------------------- traffic

    def _hour_budgets(self) -> list[float]:
        """Events to generate per hour: the daily and weekly rhythm, a little day-to-day noise."""
        c = self.config
        days = (c.hours + 23) // 24 + 1
        noise = [self.trng.uniform(0.92, 1.08) for _ in range(days)]
        weights = [hour_weight(c.start + timedelta(hours=h)) * noise[h // 24] for h in range(c.hours)]
        total = c.events_per_day * c.hours / 24
        scale = total / sum(weights)
        return [w * scale for w in weights]

    def objects(self) -> Iterator[tuple[str, bytes]]:
        """Every (key, gzipped body), partition by partition, in key order.

        Bodies are gzipped by a small thread pool (zlib releases the GIL) while the
        traffic is generated, and come out in order; the bytes are the same either way.
        """
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="generate-gzip") as pool:
            pending: deque[tuple[str, Future[bytes], tuple[int, str] | None]] = deque()
            for key, job, corrupt in self._planned_objects():
                pending.append((key, pool.submit(job), corrupt))
                if len(pending) > _LOOKAHEAD:
                    yield self._resolve(*pending.popleft())
            while pending:
                yield self._resolve(*pending.popleft())
        self._finish()

    def _resolve(self, key: str, body: Future[bytes], corrupt: tuple[int, str] | None) -> tuple[str, bytes]:
        data = body.result()
        if corrupt is not None:
            lines, damage = corrupt
            decodable = faults.decodable_lines(data)
            self.tally.corrupt_objects.append(
                CorruptObject(key=key, lines=lines, lines_decodable=decodable, damage=damage)
            )
        return key, data

    def _planned_objects(self) -> Iterator[tuple[str, Callable[[], bytes], tuple[int, str] | None]]:
        """Generate the traffic hour by hour; yield each object as (key, job making its body, damage)."""
        c = self.config
        start_ms = int(c.start.timestamp() * 1000)
        carry, events, visits = 0.0, 0, 0
        for h, budget in enumerate(self._hour_budgets()):
            hour_ms = start_ms + h * HOUR_MS
            hour = c.start + timedelta(hours=h)
            mean_len = events / visits if visits >= 50 else 6.0
            want = budget + carry
            n = max(0, round(want / mean_len))
            produced = 0
            for begin in sorted(hour_ms + int(self.trng.random() * HOUR_MS) for _ in range(n)):
                visitor = self.traffic.pick_visitor(begin)
                hits = self.traffic.visit(visitor, begin, hour)
                visitor.busy_until = hits[-1].ts_ms
                self._emit(visitor, hits)
                produced += len(hits)
            carry = want - produced
            events += produced
            visits += n
            # No later visit starts before the next hour, so nothing more can be received in this one.
            yield from self._flush(until_hour=hour_ms // HOUR_MS)
        yield from self._flush(until_hour=None)
        self._finish()

    def _emit(self, visitor: Visitor, hits: list[Hit]) -> None:
        """Hits of one visit -> events -> lines in their receive-hour buckets.

        This is the hot loop of the whole run, hence the local names and the inlined
        common case (no content fault, no duplicate); ``_line`` handles the rest.
        """
        trng, frng, iso = self.trng, self.frng, self.iso
        late_rate = self.config.late_rate
        late_base = None
        if late_rate and frng.random() < late_rate:
            end = hits[-1].ts_ms
            late_base = end + faults.late_delay_ms(frng, end - hits[0].ts_ms)
        expovariate, random_ = trng.expovariate, trng.random
        device, geo, anonymous_id = visitor.device, visitor.geo, visitor.anonymous_id
        minutes, rest_text = iso.minutes, iso.rest
        faulty = self.content_faults or self.config.duplicate_rate > 0
        buckets, dumps = self.buckets, orjson.dumps
        for i, (ts, event_type, page_url, referrer, ecom, props, user_id, item_list) in enumerate(hits):
            received = ts + 30 + int(expovariate(0.0045))
            if random_() < 0.03:
                received += trng.randint(1000, 15_000)  # a retried beacon, a slow network
            if late_base is not None:  # (drawn from the fault stream, so the traffic stays the same)
                received = late_base + i * 7 + frng.randint(0, 5)  # an offline buffer flushed at once
            if visitor.session_id is None or ts - visitor.last_ts > SESSION_IDLE_MS:
                visitor.session_id = uuid4_text(trng)
            visitor.last_ts = ts
            serial = self.serial
            self.serial += 1
            if visitor.is_crawler:
                self.crawler_serials.add(serial)
            if ecom is not None and event_type == "purchase":
                self.revenue[serial] = (ecom["currency"], round(ecom["price"] * 100) * ecom["qty"])
            minute, rest = divmod(ts, 60_000)
            ts_text = (minutes.get(minute) or iso.minute(minute)) + rest_text[rest]
            minute, rest = divmod(received, 60_000)
            received_text = (minutes.get(minute) or iso.minute(minute)) + rest_text[rest]
            event = {
                "event_id": uuid4_text(trng),
                "ts": ts_text,
                "received_at": received_text,
                "event_type": event_type,
                "session_id": visitor.session_id,
                "anonymous_id": anonymous_id,
                "user_id": user_id,
                "page_url": page_url,
                "referrer": referrer,
                "device": device,
                "geo": geo,
                "ecom": ecom,
                "props": props,
            }
            if item_list is not None:
                event["item_list"] = item_list
            code = _TYPE_CODE[event_type]
            if faulty or received - ts > HOUR_MS:
                self._line(event, ts, received, serial, code)
                continue
            self.seq += 1
            bucket = buckets.get(received // HOUR_MS)
            if bucket is None:
                bucket = buckets[received // HOUR_MS] = []
            bucket.append((received, self.seq, dumps(event), (VALID, serial, None, False, code, ts)))

    def _line(self, event: dict[str, Any], ts: int, received: int, serial: int, code: int) -> None:
        """Apply content faults and duplicates to one event and queue its line(s)."""
        kind, detail = VALID, None
        source: dict[str, Any] | None = event  # what a re-send re-serializes (None: bytes only)
        c = self.config
        if self.content_faults:
            r = self.frng.random()
            if r < c.malformed_rate:
                line, detail = faults.malformed_line(event, self.frng)
                kind, source = MALFORMED, None
            elif r < c.malformed_rate + c.violation_rate:
                source, detail = faults.violate(event, ts, received, self.frng, self.iso)
                kind = FUTURE if detail == "future_ts" else VIOLATION
            elif r < c.malformed_rate + c.violation_rate + c.pii_rate:
                source, detail = faults.add_pii(event, self.frng)
                kind = PII
        if kind in (VALID, PII) and received - ts > faults.TOO_LATE_MS:
            kind, detail = TOO_LATE, "beyond_72h"
        if source is not None:
            line = orjson.dumps(source)
        tag = (kind, serial, detail, received - ts > HOUR_MS, code, ts)
        self.seq += 1
        bucket = self.buckets.get(received // HOUR_MS)
        if bucket is None:
            bucket = self.buckets[received // HOUR_MS] = []
        bucket.append((received, self.seq, line, tag))
        if c.duplicate_rate and self.frng.random() < c.duplicate_rate:
            for _ in range(2 if self.frng.random() < 0.1 else 1):
                self._duplicate(received, ts, line, tag, source)

    def _duplicate(
        self, received: int, ts: int, line: bytes, tag: _Tag, source: dict[str, Any] | None
    ) -> None:
        """Send a line again: a client re-send (new received_at) or an ingest double write (same bytes).

        A re-send is only used where the new received_at cannot change how the line is
        classified (see ``Truth``); otherwise the copy is byte-identical.
        """
        frng = self.frng
        if source is not None and frng.random() < 0.4:
            again = received + 200 + int(frng.expovariate(1 / 600_000))  # mean ten minutes later
            kind, late = tag[0], tag[3]
            if kind in (VIOLATION, TOO_LATE) or (
                kind in (VALID, PII) and again - ts <= faults.TOO_LATE_MS and late == (again - ts > HOUR_MS)
            ):
                resent = dict(source)
                resent["received_at"] = self.iso(again)
                self._queue(again, again, orjson.dumps(resent), tag)
                return
        hour_end = (received // HOUR_MS + 1) * HOUR_MS
        self._queue(received, frng.randint(received, hour_end - 1), line, tag)

    def _queue(self, received: int, order_ms: int, line: bytes, tag: _Tag) -> None:
        self.seq += 1
        bucket = self.buckets.get(received // HOUR_MS)
        if bucket is None:
            bucket = self.buckets[received // HOUR_MS] = []
        bucket.append((order_ms, self.seq, line, tag))

    # --------------------------------------------------------------- objects

    def _flush(
        self, until_hour: int | None
    ) -> Iterator[tuple[str, Callable[[], bytes], tuple[int, str] | None]]:
        for hour in sorted(self.buckets):
            if until_hour is not None and hour > until_hour:
                break
            yield from self._objects_of_hour(hour, self.buckets.pop(hour))

    def _objects_of_hour(
        self, hour: int, entries: list[_Entry]
    ) -> Iterator[tuple[str, Callable[[], bytes], tuple[int, str] | None]]:
        """Cut one receive hour into objects, decide their object faults and count their lines."""
        entries.sort()  # by (order ms, sequence number): unique, so lines are never compared
        hour_ms = hour * HOUR_MS
        prefix = hour_prefix(hour_ms)
        tally = self.tally
        part = tally.partitions.setdefault(self.iso(hour_ms)[:13] + ":00:00Z", [0, 0])  # objects, lines
        object_fault = self.config.malformed_rate
        level = self.limits.gzip_level
        order = [e[0] for e in entries]
        sizes = [len(e[2]) for e in entries]
        last_ms = hour_ms - 1
        for first, end in batches(order, sizes, hour_ms, self.limits):
            chunk = entries[first:end]
            last_ms = max(last_ms + 1, order[end - 1])
            key = object_key(prefix, last_ms, self.krng)
            lines = [e[2] for e in chunk]
            part[0] += 1
            part[1] += len(chunk)
            if object_fault and self.frng.random() < object_fault:
                damage = self.frng.choice(faults.DAMAGES)
                tally.rejects["corrupt_object"] += len(chunk)
                tally.reject_details[f"corrupt_object.{damage}"] += len(chunk)
                yield key, partial(_damaged_body, lines, level, damage), (len(chunk), damage)
            else:
                self._count(chunk)
                yield key, partial(gzip_lines, lines, level), None
            if object_fault and self.frng.random() < object_fault:
                last_ms += 1
                empty_key = object_key(prefix, last_ms, self.krng)
                tally.empty_objects.append(empty_key)
                part[0] += 1
                zero_bytes = self.frng.random() < 0.5
                yield empty_key, partial(bytes) if zero_bytes else partial(gzip_lines, [], level), None

    def _count(self, chunk: list[_Entry]) -> None:
        """Classify the lines of one readable object (the rules are in ``Truth``)."""
        tally, seen, revenue = self.tally, self.seen, self.revenue
        if len(seen) < self.serial:
            seen.extend(bytes(self.serial - len(seen)))
        unique = duplicates = filtered = 0
        crawler_serials = self.crawler_serials
        for _, _, _, (kind, serial, detail, late, code, ts) in chunk:
            if kind >= MALFORMED:
                reason = _REJECT_NAMES[kind]
                tally.rejects[reason] += 1
                tally.reject_details[f"{reason}.{detail}"] += 1
                continue
            if kind == PII:
                tally.pii_details[str(detail)] += 1
            if kind == FUTURE:
                tally.future_ts_lines += 1
            elif late:
                tally.late_lines += 1
            if serial in crawler_serials:  # every copy: the transform filters before dedupe
                filtered += 1
                continue
            if seen[serial]:
                duplicates += 1
                continue
            seen[serial] = 1
            unique += 1
            tally.by_type[code] += 1
            if code == _PURCHASE and serial in revenue:
                currency, cents = revenue[serial]
                tally.revenue_cents[currency] += cents
            if kind != FUTURE:
                tally.see_ts(ts)
        tally.unique_valid_events += unique
        tally.duplicate_lines += duplicates
        tally.filtered_lines += filtered

    def _finish(self) -> None:
        t = self.tally
        rejected = sum(t.rejects.values())
        partitions = {h: PartitionCount(objects=o, lines=n) for h, (o, n) in sorted(t.partitions.items())}
        self.truth = Truth(
            config=self.config,
            lines_written=t.unique_valid_events + t.duplicate_lines + rejected + t.filtered_lines,
            objects_written=sum(p.objects for p in partitions.values()),
            unique_valid_events=t.unique_valid_events,
            duplicate_lines=t.duplicate_lines,
            filtered_lines=t.filtered_lines,
            rejected_lines=rejected,
            rejects=t.rejects,
            reject_details=dict(sorted(t.reject_details.items())),
            pii_lines=sum(t.pii_details.values()),
            pii_details=dict(sorted(t.pii_details.items())),
            future_ts_lines=t.future_ts_lines,
            late_lines=t.late_lines,
            valid_by_event_type=dict(zip(_TYPES, t.by_type, strict=True)),
            revenue_by_currency={c: Decimal(cents) / 100 for c, cents in sorted(t.revenue_cents.items())},
            ts_min=self.iso(t.ts_min) if t.ts_min is not None else None,
            ts_max=self.iso(t.ts_max) if t.ts_max is not None else None,
            empty_objects=t.empty_objects,
            corrupt_objects=t.corrupt_objects,
            quarantined_lines_unread=sum(c.lines - c.lines_decodable for c in t.corrupt_objects),
            partitions=partitions,
        )
        assert self.truth.lines_written == sum(p.lines for p in partitions.values())


class _Tally:
    """Running counts of one run: plain attributes, because setting a pydantic field per line is slow."""

    def __init__(self) -> None:
        self.unique_valid_events = 0
        self.duplicate_lines = 0
        self.filtered_lines = 0
        self.future_ts_lines = 0
        self.late_lines = 0
        self.rejects = dict.fromkeys(REJECT_REASONS, 0)
        self.reject_details: Counter[str] = Counter()
        self.pii_details: Counter[str] = Counter()
        self.by_type = [0] * len(_TYPES)
        self.revenue_cents: Counter[str] = Counter()
        self.ts_min: int | None = None
        self.ts_max: int | None = None
        self.empty_objects: list[str] = []
        self.corrupt_objects: list[CorruptObject] = []
        self.partitions: dict[str, list[int]] = {}  # receive hour -> [objects, lines]

    def see_ts(self, ts: int) -> None:
        if self.ts_min is None or ts < self.ts_min:
            self.ts_min = ts
        if self.ts_max is None or ts > self.ts_max:
            self.ts_max = ts


def _damaged_body(lines: list[bytes], level: int, damage: str) -> bytes:
    return faults.corrupt_gzip(gzip_lines(lines, level), damage)


def generate_objects(config: GeneratorConfig) -> Iterator[tuple[str, bytes]]:
    """(lake key, gzipped body) of a whole run, partition by partition in key order."""
    return TrafficGenerator(config).objects()


def generate_to_dir(config: GeneratorConfig, out_dir: Path) -> Truth:
    """Write ``out_dir/raw/...`` and ``out_dir/_generated.json``; returns the truth.

    The garbage collector is paused while generating: the run allocates millions of
    small objects and frees none of them in cycles.
    """
    generator = TrafficGenerator(config)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        write_objects(generator.objects(), out_dir)
    finally:
        if was_enabled:
            gc.enable()
    truth = generator.truth
    assert truth is not None
    (out_dir / TRUTH_FILE).write_bytes(
        orjson.dumps(truth.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
    )
    return truth
