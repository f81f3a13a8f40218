"""VES (ONAP / O-RAN) events: ``perf3gpp`` (a 32.435 file as JSON) and ``measurement`` (VNF/host metrics).

Times come from the event header: the period ends at ``lastEpochMicrosec`` and lasts
``granularityPeriod`` / ``measurementInterval`` seconds. Producers that write milliseconds into the
microsecond fields (the O-RAN SC PM converter does) are recognised and reported (``times.epoch_us_to_utc``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from collectors.ran import names, times
from collectors.ran.jsondocs import JsonDoc, number, truthy, value_text
from collectors.ran.records import Problems, Tables, ValueBuffer

DOMAINS = {"perf3gpp": "ves-perf3gpp", "measurement": "ves-measurement"}


def events(docs: list[JsonDoc]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every event of the documents: ``{"event": …}``, ``{"eventList": […]}``, or lists of those."""
    for doc in docs:
        stack: list[Any] = [doc.value]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack[0:0] = item
            elif isinstance(item, dict):
                if isinstance(item.get("eventList"), list):
                    stack[0:0] = item["eventList"]
                elif isinstance(item.get("event"), dict):
                    yield doc.line, item["event"]
                elif "commonEventHeader" in item:
                    yield doc.line, item


def is_ves(value: Any) -> bool:
    probe = value[0] if isinstance(value, list) and value else value
    return isinstance(probe, dict) and (
        "eventList" in probe or isinstance(probe.get("event"), dict) or "commonEventHeader" in probe
    )


def domain_of(event: dict[str, Any]) -> str:
    header = event.get("commonEventHeader")
    return str(header.get("domain", "")) if isinstance(header, dict) else ""


def parse_events(docs: list[JsonDoc], tables: Tables, problems: Problems, buffer: ValueBuffer) -> set[str]:
    """Fill ``buffer`` from every event; returns the source formats seen (``ves-perf3gpp``…)."""
    seen: set[str] = set()
    for line, event in events(docs):
        domain = domain_of(event)
        if domain == "perf3gpp":
            _perf3gpp(event, line, tables, problems, buffer)
        elif domain == "measurement":
            _measurement(event, line, tables, problems, buffer)
        else:
            problems.add(f"VES domain {domain or '(none)'!r} carries no measurements; event skipped", line=line)
            continue
        seen.add(DOMAINS[domain])
    return seen


def _window(
    header: dict[str, Any], seconds: float | None, line: int, problems: Problems
) -> tuple[dt.datetime, dt.datetime] | None:
    last = number(header.get("lastEpochMicrosec"))
    first = number(header.get("startEpochMicrosec"))
    if last is None and first is None:
        problems.add("event header has neither lastEpochMicrosec nor startEpochMicrosec; skipped", line=line)
        return None
    end: dt.datetime | None = None
    start: dt.datetime | None = None
    if last is not None:
        end, as_ms = times.epoch_us_to_utc(last)
        if as_ms:
            problems.once("ves-ms", "lastEpochMicrosec holds milliseconds, not microseconds; read as ms", line=line)
    if first is not None:
        start, as_ms = times.epoch_us_to_utc(first)
        if as_ms:
            problems.once("ves-ms", "startEpochMicrosec holds milliseconds, not microseconds; read as ms", line=line)
    if seconds is not None and seconds > 0:
        if end is not None:
            return end - dt.timedelta(seconds=seconds), end
        assert start is not None
        return start, start + dt.timedelta(seconds=seconds)
    if start is not None and end is not None and end > start:
        return start, end
    problems.add("event has no measurement interval and no usable start/end; skipped", line=line)
    return None


def _perf3gpp(event: dict[str, Any], line: int, tables: Tables, problems: Problems, buffer: ValueBuffer) -> None:
    header = event.get("commonEventHeader") or {}
    collection = (event.get("perf3gppFields") or {}).get("measDataCollection")
    if not isinstance(collection, dict):
        problems.add("perf3gpp event without perf3gppFields.measDataCollection; skipped", line=line)
        return
    window = _window(header, number(collection.get("granularityPeriod")), line, problems)
    if window is None:
        return
    period = tables.period(*window)
    me_dn = str(collection.get("measuredEntityDn") or header.get("sourceName") or "").strip()
    if not me_dn:
        problems.add("perf3gpp event names no measuredEntityDn or sourceName; skipped", line=line)
        return
    me = names.managed_element_name(me_dn)
    for info in collection.get("measInfoList") or []:
        types = (info.get("measTypes") or {}).get("sMeasTypesList") or []
        counters = [tables.counter(str(t).strip()) for t in types]
        for values in info.get("measValuesList") or []:
            ldn = str(values.get("measObjInstId") or "").strip() or me_dn
            obj = tables.obj(me, ldn)
            suspect = truthy(values.get("suspectFlag"))
            for result in values.get("measResults") or []:
                p = number(result.get("p"))
                if p is None or not 1 <= int(p) <= len(counters):
                    problems.add(f"measResults p={result.get('p')!r} has no measType; skipped", line=line, field="p")
                    continue
                counter = counters[int(p) - 1]
                for index, value in _result_values(result, line, problems):
                    buffer.add(period, obj, counter, value, suspect=suspect, index=index)


def _result_values(result: dict[str, Any], line: int, problems: Problems) -> list[tuple[int | None, float | None]]:
    if truthy(result.get("isNull")):
        return [(None, None)]
    for key in ("iValue", "rValue"):
        if key in result:
            parsed = number(result[key])
            if parsed is None:
                problems.add(f"{key} {result[key]!r} is not a number; skipped", line=line, field=key)
                return []
            return [(None, parsed)]
    text = result.get("sValue")
    if not isinstance(text, str):
        problems.add("measResult without iValue, rValue or sValue; skipped", line=line)
        return []
    parsed_text = value_text(text)
    if parsed_text is None:
        problems.add(f"sValue {text!r} is not a number; skipped", line=line, field="sValue")
        return []
    return parsed_text


def _measurement(event: dict[str, Any], line: int, tables: Tables, problems: Problems, buffer: ValueBuffer) -> None:
    header = event.get("commonEventHeader") or {}
    fields = event.get("measurementFields")
    if not isinstance(fields, dict):
        problems.add("measurement event without measurementFields; skipped", line=line)
        return
    window = _window(header, number(fields.get("measurementInterval")), line, problems)
    if window is None:
        return
    period = tables.period(*window)
    source = str(header.get("sourceName") or header.get("reportingEntityName") or "").strip()
    if not source:
        problems.add("measurement event names no sourceName; skipped", line=line)
        return
    for key, items in fields.items():
        if key == "additionalMeasurements" and isinstance(items, list):
            for group in items:
                obj = tables.obj(source, str(group.get("name") or source))
                for counter, raw in (group.get("hashMap") or {}).items():
                    _add_number(buffer, period, obj, tables.counter(counter), raw, False, line, problems)
        elif key.endswith("Array") and isinstance(items, list):
            kind = key.removesuffix("UsageArray").removesuffix("PerformanceArray").removesuffix("Array")
            for item in items:
                if not isinstance(item, dict):
                    continue
                ident = next((str(v) for k, v in item.items() if k.endswith("Identifier")), "")
                obj = tables.obj(source, f"{kind}={ident.strip()}" if ident else kind)
                suspect = truthy(item.get("valuesAreSuspect"))
                for counter, raw in item.items():
                    value = None if counter.endswith("Identifier") else number(raw)
                    if value is not None:  # descriptive strings (states, names) are attributes, not counters
                        buffer.add(period, obj, tables.counter(counter), value, suspect=suspect)


def _add_number(
    buffer: ValueBuffer, period: int, obj: int, counter: int, raw: Any, suspect: bool, line: int, problems: Problems
) -> None:
    value = number(raw)
    if value is None:
        problems.add(f"value {raw!r} is not a number; skipped", line=line)
        return
    buffer.add(period, obj, counter, value, suspect=suspect)
