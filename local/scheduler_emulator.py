"""What EventBridge Scheduler does and moto does not: fire the schedules of one group.

Reads the group back (list + get, as any client would), evaluates each stored `cron(...)` itself
with AWS's rules (independently of chalicelib.core.schedules: 6 fields, exactly one day field `?`,
day-of-week 1-7 with 1 = SUN, `a/n` runs to the field's end, Quartz `L`/`W`/`#`; a wall time in a
spring-forward gap is skipped, a repeated one fires once, first occurrence), and at each fire time
sends Target.Input, `<aws.scheduler.scheduled-time>` filled in, to the target queue. No backfill
before the emulator started or a schedule changed; a late tick fires each missed time once if it
is younger than RetryPolicy.MaximumEventAgeInSeconds. Each enabled schedule's next fire time sits
in a heap, so a quiet tick costs O(1); a refresh lists the group and calls get_schedule only for
new or changed schedules (LastModificationDate). Failed sends are logged, not retried.
"""
import calendar
import heapq
import itertools
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

log = logging.getLogger("infrai.local.scheduler")
UTC = timezone.utc
DEFAULT_MAX_AGE = 86400
MONTHS = {n: i for i, n in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
DAYS = {n: i for i, n in enumerate("SUN MON TUE WED THU FRI SAT".split(), 1)}
# Candidates whose local wall time is this far before `after`'s can't fire after it (max DST shift).
_SLACK = timedelta(hours=3)


def aws_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one(s, lo, hi, names=None) -> int:
    v = names[s.upper()] if names and s.upper() in names else int(s)
    if not lo <= v <= hi:
        raise ValueError(f"{s!r} is outside {lo}-{hi}")
    return v


def _field(text, lo, hi, names=None) -> frozenset:
    out = set()
    for part in text.split(","):
        base, slash, step = part.partition("/")
        step = int(step) if slash else 1
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            first, last = (_one(x, lo, hi, names) for x in base.split("-", 1))
        else:
            first = _one(base, lo, hi, names)
            last = hi if slash else first
        if step < 1 or first > last:
            raise ValueError(f"bad field {text!r}")
        out.update(range(first, last + 1, step))
    return frozenset(out)


def _day_field(text, dow) -> tuple[frozenset, tuple]:
    """A day field -> (plain values, Quartz specials: ("L", n) ("LW",) ("W", n) ("#", d, k))."""
    plain, special = [], []
    for p in text.upper().split(","):
        if dow and "/" in p:
            raise ValueError("AWS allows no '/' in day-of-week")
        if dow and p.endswith("L"):
            special.append(("L", _one(p[:-1] or "SAT", 1, 7, DAYS)))  # last such day; bare L: SAT
        elif dow and "#" in p:
            d, k = p.split("#")
            special.append(("#", _one(d, 1, 7, DAYS), _one(k, 1, 5)))
        elif not dow and (p == "L" or p.startswith("L-")):
            special.append(("L", _one(p[2:] or "0", 0, 30)))           # last day, minus n
        elif not dow and p.endswith("W"):
            special.append(("LW",) if p == "LW" else ("W", _one(p[:-1], 1, 31)))
        else:
            plain.append(p)
    bounds = (1, 7, DAYS) if dow else (1, 31)
    return (_field(",".join(plain), *bounds) if plain else frozenset()), tuple(special)


@dataclass(frozen=True)
class AwsCron:
    minutes: tuple
    hours: tuple
    months: tuple
    years: tuple
    dom: frozenset | None = None          # None: the field is '?'
    dom_special: tuple = ()               # ("L", n) last day - n, ("LW",), ("W", n)
    dow: frozenset | None = None
    dow_special: tuple = ()               # ("L", d) last d of month, ("#", d, k) k-th d
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def days(self, year: int, month: int) -> list[int]:
        """The days of that month this expression fires on (cached)."""
        key = (year, month)
        if key not in self._cache:
            n = calendar.monthrange(year, month)[1]
            weekday = lambda d: date(year, month, d).isoweekday() % 7 + 1  # noqa: E731 SUN=1..SAT=7
            out = set()
            if self.dom is not None:
                out = {d for d in self.dom if d <= n}
                for s in self.dom_special:
                    if s[0] == "L":
                        out.update([n - s[1]] if n > s[1] else [])
                    elif s[0] == "LW":
                        out.add(n - {7: 1, 1: 2}.get(weekday(n), 0))
                    elif s[1] <= n:  # nW: the weekday nearest day n, within the month
                        d, wd = s[1], weekday(s[1])
                        out.add(d + 2 if wd == 7 and d == 1 else d - 1 if wd == 7
                                else d - 2 if wd == 1 and d == n else d + 1 if wd == 1 else d)
            else:
                out = {d for d in range(1, n + 1) if weekday(d) in self.dow}
                for s in self.dow_special:
                    hits = [d for d in range(1, n + 1) if weekday(d) == s[1]]
                    if s[0] == "L":
                        out.add(hits[-1])
                    elif s[2] <= len(hits):
                        out.add(hits[s[2] - 1])
            self._cache[key] = sorted(out)
        return self._cache[key]

    def next_after(self, zone, after: float) -> float | None:
        """The first fire time (UTC epoch seconds) strictly after `after`, or None if none."""
        zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        floor = datetime.fromtimestamp(after, zone).replace(tzinfo=None) - _SLACK
        start = (floor.year, floor.month, floor.day)
        for year, month in itertools.product(self.years, self.months):
            if (year, month) < start[:2]:
                continue
            for day in (d for d in self.days(year, month) if (year, month, d) >= start):
                hours = [h for h in self.hours if (year, month, day) > start or h >= floor.hour]
                for hour, minute in itertools.product(hours, self.minutes):
                    wall = datetime(year, month, day, hour, minute)
                    if wall < floor:
                        continue
                    t = wall.replace(tzinfo=zone).timestamp()  # fold=0: the first occurrence
                    if t > after and datetime.fromtimestamp(t, zone).replace(tzinfo=None) == wall:
                        return t  # (a wall time in a spring-forward gap doesn't round-trip: skipped)
        return None

    def fire_times(self, zone, after_utc: datetime):
        """Every fire time after `after_utc`, as aware UTC datetimes, in order."""
        t = after_utc.timestamp()
        while (t := self.next_after(zone, t)) is not None:
            yield datetime.fromtimestamp(t, UTC)

    def due_between(self, zone, start_utc: datetime, end_utc: datetime) -> list[datetime]:
        """Fire times in (start_utc, end_utc]."""
        return list(itertools.takewhile(lambda t: t <= end_utc, self.fire_times(zone, start_utc)))


def parse_aws_cron(expression: str) -> AwsCron:
    """`cron(m h dom mon dow year)` -> AwsCron. ValueError for anything AWS would refuse."""
    text = expression.strip()
    if not (text.startswith("cron(") and text.endswith(")")):
        raise ValueError(f"not a cron() expression: {expression!r}")
    parts = text[5:-1].split()
    if len(parts) != 6:
        raise ValueError(f"AWS cron takes 6 fields: {expression!r}")
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"exactly one of day-of-month and day-of-week must be '?': {expression!r}")
    dom, dom_special = (None, ()) if dom == "?" else _day_field(dom, False)
    dow, dow_special = (None, ()) if dow == "?" else _day_field(dow, True)
    return AwsCron(minutes=tuple(sorted(_field(minute, 0, 59))), hours=tuple(sorted(_field(hour, 0, 23))),
                   months=tuple(sorted(_field(month, 1, 12, MONTHS))),
                   years=tuple(sorted(_field(year, 1970, 2199))),
                   dom=dom, dom_special=dom_special, dow=dow, dow_special=dow_special)


@dataclass
class _Entry:
    detail: dict
    cron: AwsCron | None
    zone: ZoneInfo | None
    modified: float
    version: int
    start: float | None
    end: float | None
    max_age: float


def _ts(value) -> float | None:
    if value is None:
        return None
    return value.timestamp() if isinstance(value, datetime) else float(value)


SEND_ATTEMPTS = 5


class SchedulerEmulator:
    def __init__(self, group: str, *, clock=time.time, tick=0.25, refresh=2.0, sqs=None, scheduler=None):
        self.group, self.clock, self.tick, self.refresh = group, clock, tick, refresh
        self._sqs, self._scheduler = sqs, scheduler
        self._entries: dict[str, _Entry] = {}
        self._heap: list = []          # (fire time, seq, name, version)
        self._pending: set[str] = set()  # entries to arm at the first tick
        self._seq = itertools.count()
        self._versions = itertools.count(1)
        self._last_tick = self._refreshed_at = None
        self._queue_urls: dict[str, str] = {}
        self._lock, self._refreshing = threading.RLock(), threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.sent = 0

    def _clients(self):
        from chalicelib.aws import clients
        return self._sqs or clients.sqs(), self._scheduler or clients.scheduler()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "SchedulerEmulator":
        self._stop.clear()
        self.refresh_schedules()
        self.tick_once(self.clock())
        for name, loop, every in (("scheduler-refresh", self.refresh_schedules, self.refresh),
                                  ("scheduler-tick", lambda: self.tick_once(self.clock()), self.tick)):
            t = threading.Thread(target=self._loop, args=(loop, every, name == "scheduler-refresh"),
                                 name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _loop(self, step, every, stretch):
        wait = every
        while not self._stop.wait(wait):
            started = time.monotonic()
            try:
                step()
            except Exception:  # noqa: BLE001 - moto stopping, or a blip: try again next time
                if not self._stop.is_set():
                    log.exception("scheduler emulator step failed")
            # a slow refresh (10,000 schedules: moto sorts the whole group for every page) rests
            # three times as long as it took, so it takes at most a quarter of moto's time
            wait = max(every, 3 * (time.monotonic() - started)) if stretch else every

    def stop(self, timeout=10):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    # -- reading the schedules --------------------------------------------------------------
    def refresh_schedules(self, now: float | None = None):
        """Re-list the group; get_schedule only what is new or changed; forget what is gone."""
        with self._refreshing:
            started = self.clock() if now is None else now
            _, sched = self._clients()
            listed, pages = {}, sched.get_paginator("list_schedules")
            for page in pages.paginate(GroupName=self.group, PaginationConfig={"PageSize": 100}):
                for s in page.get("Schedules", []):
                    listed[s["Name"]] = _ts(s.get("LastModificationDate")) or 0.0
            with self._lock:
                known = {n: e.modified for n, e in self._entries.items()}
            details = {}
            for name in [n for n, m in listed.items() if known.get(n) != m]:
                try:
                    details[name] = sched.get_schedule(Name=name, GroupName=self.group)
                except sched.exceptions.ResourceNotFoundException:
                    listed.pop(name)  # deleted since the listing
            now = self.clock() if now is None else now
            with self._lock:  # a change after the last listing began is dated by LastModificationDate
                since, self._refreshed_at = self._refreshed_at, started
                for name in set(self._entries) - set(listed):
                    del self._entries[name]  # its heap items go stale
                for name, d in details.items():
                    self._load(name, d, listed[name], since, now)

    def _load(self, name, detail, modified, since, now):
        retry = detail.get("Target", {}).get("RetryPolicy") or {}
        entry = self._entries[name] = _Entry(
            detail, None, None, modified, next(self._versions), _ts(detail.get("StartDate")),
            _ts(detail.get("EndDate")), retry.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE))
        try:
            entry.cron = parse_aws_cron(detail["ScheduleExpression"])
            entry.zone = ZoneInfo(detail.get("ScheduleExpressionTimezone") or "UTC")
        except Exception as e:  # noqa: BLE001 - AWS would have refused it: kept, never fired
            log.warning("schedule %s not emulated: %s", name, e)
            return
        if self._last_tick is None:
            self._pending.add(name)  # armed at the first tick: no backfill of the past
        elif since is not None and since < modified <= now:
            self._arm(name, entry, modified)  # changed then: fire only what comes after
        else:
            self._arm(name, entry, max(now, self._last_tick))  # clock not comparable (tests)

    def _arm(self, name, entry, after):
        if entry.cron is None or entry.detail.get("State", "ENABLED") != "ENABLED":
            return
        if entry.start is not None:
            after = max(after, entry.start - 1e-6)
        t = entry.cron.next_after(entry.zone, after)
        if t is not None and (entry.end is None or t < entry.end):
            heapq.heappush(self._heap, (t, next(self._seq), name, entry.version))

    # -- firing -------------------------------------------------------------------------------
    def tick_once(self, now: float) -> list[dict]:
        """Fire everything due up to `now`; the first call only sets the starting point."""
        if not self._threads and (self._refreshed_at is None or now - self._refreshed_at >= self.refresh):
            self.refresh_schedules(now)
        with self._lock:
            if self._last_tick is None:
                self._last_tick = now
                for name in self._pending:
                    if name in self._entries:
                        self._arm(name, self._entries[name], now)
                self._pending.clear()
                return []
            due = []
            while self._heap and self._heap[0][0] <= now:
                t, _, name, version = heapq.heappop(self._heap)
                entry = self._entries.get(name)
                if entry is None or entry.version != version:
                    continue  # deleted or changed since this was computed
                if now - t <= entry.max_age:
                    due.append((t, name, entry))
                    self._arm(name, entry, t)
                else:  # too old to deliver: skip ahead to what is still young enough
                    self._arm(name, entry, max(t, now - entry.max_age - 1e-6))
            self._last_tick = max(self._last_tick, now)
        return [self._send(t, name, entry) for t, name, entry in sorted(due, key=lambda d: (d[0], d[1]))]

    def _send(self, t, name, entry) -> dict:
        target, stamp = entry.detail["Target"], aws_time(t)
        body = target.get("Input", "")
        for key, value in (("scheduled-time", stamp), ("schedule-arn", entry.detail.get("Arn", "")),
                           ("execution-id", str(uuid.uuid4())), ("attempt-number", "1")):
            body = body.replace(f"<aws.scheduler.{key}>", value)
        extra = {}
        if group_id := (target.get("SqsParameters") or {}).get("MessageGroupId"):
            extra = {"MessageGroupId": group_id, "MessageDeduplicationId": str(uuid.uuid4())}
        sqs, _ = self._clients()
        for attempt in range(SEND_ATTEMPTS):   # AWS retries a failed send (for up to a day)
            try:
                sqs.send_message(QueueUrl=self._queue_url(target["Arn"]), MessageBody=body, **extra)
                self.sent += 1
                break
            except Exception as e:  # noqa: BLE001 - a busy moto refuses connections now and then
                if attempt == SEND_ATTEMPTS - 1 or self._stop.is_set():
                    log.warning("schedule %s: send at %s failed: %s", name, stamp, e)
                    break
                self._stop.wait(0.2 * 2 ** attempt)
        return {"name": name, "scheduled": stamp, "input": body}

    def _queue_url(self, arn: str) -> str:
        if arn not in self._queue_urls:
            sqs, _ = self._clients()
            self._queue_urls[arn] = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
        return self._queue_urls[arn]
