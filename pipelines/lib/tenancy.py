"""``tenants.yaml``: who the tenants are and how their GPU use is recognised, validated on load.

A tenant is recognised by any of these rules, applied in this order to every GPU (or MIG instance) sample
(:mod:`pipelines.lib.attribution` does the splitting; ``docs/tenancy.md`` explains it to operators):

1. **reservations** — whole GPUs (``gpus``: UUIDs) or MIG instances (``mig_instances``: ``<GPU UUID>/<GPU
   instance id>``) leased to the tenant for a validity window ``[from, until)``. Reserved time belongs to the
   tenant whether anything runs on it or not, and a sample that straddles ``from`` or ``until`` is split at it;
2. **Slurm accounts** (``slurm_accounts``) — the holder's HPC job id looked up in a ``sacct`` export named by
   ``slurm_jobs_file``; then **HPC job id prefixes** (``hpc_job_prefixes``, Slurm job ids or dcgm-exporter's
   ``hpc_job`` label);
3. **pod name** globs (``pods``, dcgm-exporter's ``pod`` label);
4. **Kubernetes namespace** globs (``namespaces``);
5. no rule matched: ``unattributed``. Time nobody held is ``idle``.

Within one rule, tenants are tried in file order and the first match wins. A pattern claimed by two tenants
is refused on load, so the order never silently decides between two owners.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collectors.errors import ConfigError

IDLE = "idle"
UNATTRIBUTED = "unattributed"
RESERVED_IDS = {IDLE, UNATTRIBUTED}
TenantKind = Literal["ai", "ran"]
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_PATTERN = re.compile(r"^[^\s]+$")
_MIG = re.compile(r"^(?P<gpu>[^\s/]+)/(?P<gi>\d{1,2})$")


class MigInstance(BaseModel):
    """A MIG GPU instance: the parent GPU's UUID and the GPU instance id NVML and dcgm-exporter report."""

    model_config = ConfigDict(frozen=True)

    gpu_uuid: str
    gpu_instance_id: int


class Reservation(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    gpus: list[str] = Field(default_factory=list)
    mig_instances: list[str] = Field(default_factory=list)
    valid_from: dt.datetime = Field(alias="from")
    valid_until: dt.datetime = Field(alias="until")

    @field_validator("gpus")
    @classmethod
    def _gpus(cls, value: list[str]) -> list[str]:
        for gpu in value:
            if not _PATTERN.match(gpu) or "/" in gpu:
                raise ValueError(f"{gpu!r} is not a GPU UUID (MIG instances go under 'mig_instances')")
        return value

    @field_validator("mig_instances")
    @classmethod
    def _instances(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _MIG.match(item):
                raise ValueError(f"{item!r} is not '<GPU UUID>/<GPU instance id>' (e.g. GPU-8f1c…/3)")
        return value

    @model_validator(mode="after")
    def _window(self) -> Reservation:
        if not self.gpus and not self.mig_instances:
            raise ValueError("a reservation needs 'gpus' or 'mig_instances'")
        for name in ("valid_from", "valid_until"):
            value = getattr(self, name)
            if value.tzinfo is None:
                setattr(self, name, value.replace(tzinfo=dt.UTC))
            else:
                setattr(self, name, value.astimezone(dt.UTC))
        if self.valid_until <= self.valid_from:
            raise ValueError("'until' must be after 'from'")
        return self

    @property
    def instances(self) -> list[MigInstance]:
        out = []
        for item in self.mig_instances:
            m = _MIG.match(item)
            assert m is not None  # validated above
            out.append(MigInstance(gpu_uuid=m["gpu"], gpu_instance_id=int(m["gi"])))
        return out


class Tenant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    kind: TenantKind = "ai"
    namespaces: list[str] = Field(default_factory=list)
    pods: list[str] = Field(default_factory=list)
    hpc_job_prefixes: list[str] = Field(default_factory=list)
    slurm_accounts: list[str] = Field(default_factory=list)
    reservations: list[Reservation] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lower-case letters, digits, '-', '_' or '.' (at most 63)")
        if value in RESERVED_IDS:
            raise ValueError(f"'{value}' is reserved for the line aigrid adds itself")
        return value

    @field_validator("namespaces", "pods", "hpc_job_prefixes", "slurm_accounts")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _PATTERN.match(item):
                raise ValueError(f"{item!r}: patterns may not be empty or contain spaces")
        return value


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    #: A ``sacct --parsable2`` export (JobIDRaw|Account…) next to tenants.yaml, needed by ``slurm_accounts``.
    slurm_jobs_file: str | None = None
    tenants: list[Tenant]

    @model_validator(mode="after")
    def _consistent(self) -> TenantConfig:
        seen: set[str] = set()
        for t in self.tenants:
            if t.id in seen:
                raise ValueError(f"tenant id '{t.id}' appears twice")
            seen.add(t.id)
        for rule in ("namespaces", "pods", "hpc_job_prefixes", "slurm_accounts"):
            owners: dict[str, str] = {}
            for t in self.tenants:
                for pattern in getattr(t, rule):
                    if pattern in owners:
                        raise ValueError(
                            f"{rule} entry {pattern!r} is claimed by both '{owners[pattern]}' and '{t.id}'"
                        )
                    owners[pattern] = t.id
        if any(t.slurm_accounts for t in self.tenants) and not self.slurm_jobs_file:
            raise ValueError("'slurm_accounts' rules need 'slurm_jobs_file' (a sacct export mapping jobs to accounts)")
        _check_reservation_overlaps(self.tenants)
        return self

    def kind_of(self, tenant: str) -> str:
        """ai | ran for configured tenants; the reserved lines are their own kind."""
        if tenant in RESERVED_IDS:
            return tenant
        return next((t.kind for t in self.tenants if t.id == tenant), "ai")


_Window = tuple[dt.datetime, dt.datetime, str]


def _check_reservation_overlaps(tenants: list[Tenant]) -> None:
    """No GPU or MIG instance may be reserved twice at once, and a whole-GPU reservation excludes reservations
    of its instances in the same window (they would bill the same slice twice)."""
    whole: dict[str, list[_Window]] = {}
    parts: dict[str, list[_Window]] = {}
    for t in tenants:
        for r in t.reservations:
            window = (r.valid_from, r.valid_until, t.id)
            for gpu in r.gpus:
                for other in [*whole.get(gpu, []), *parts.get(gpu, [])]:
                    _refuse_overlap(window, other, gpu)
                whole.setdefault(gpu, []).append(window)
            for inst in r.instances:
                label = f"{inst.gpu_uuid}/{inst.gpu_instance_id}"
                for other in whole.get(inst.gpu_uuid, []):
                    _refuse_overlap(window, other, f"{label} (the whole GPU)")
                for other in parts.get(label, []):
                    _refuse_overlap(window, other, label)
                parts.setdefault(label, []).append(window)
                parts.setdefault(inst.gpu_uuid, []).append(window)


def _refuse_overlap(a: _Window, b: _Window, what: str) -> None:
    if a[0] < b[1] and b[0] < a[1]:
        who = f"by '{a[2]}' twice" if a[2] == b[2] else f"by both '{b[2]}' and '{a[2]}'"
        raise ValueError(f"GPU {what} is reserved {who} at the same time")


def load_tenants(path: Path) -> TenantConfig:
    """Read and validate ``tenants.yaml``; every problem names the file, and the tenant and field."""
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError("file not found; write tenants.yaml (see docs/tenancy.md)", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {exc}", file=path, line=mark.line + 1 if mark else None) from None
    try:
        return TenantConfig.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = describe_location(doc, first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(message, file=path, field=where or None) from None


def describe_location(doc: object, loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as operators read it: ``tenants[sakura-ai].reservations[0]``."""
    parts: list[str] = []
    node = doc
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and item < len(node):
            node = node[item]
            label = node.get("id") if isinstance(node, dict) else None
            parts.append(f"[{label or item}]")
        else:
            node = node.get(item) if isinstance(node, dict) else None
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)


def load_slurm_accounts(config: TenantConfig, config_dir: Path) -> dict[str, str]:
    """Job id → Slurm account from the ``sacct --parsable2`` export ``tenants.yaml`` names (empty if none).

    The export needs a header with ``JobIDRaw`` (or ``JobID``) and ``Account``; step rows (``123.batch``,
    ``123.0``) fold into their job. A job listed under two accounts is an error naming both lines.
    """
    if not config.slurm_jobs_file:
        return {}
    path = config_dir / config.slurm_jobs_file
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise ConfigError("file not found (named by slurm_jobs_file in tenants.yaml)", file=path) from None
    if not lines:
        raise ConfigError("empty sacct export; expected a header line such as 'JobIDRaw|Account'", file=path, line=1)
    header = [h.strip() for h in lines[0].split("|")]
    job_col = next((header.index(h) for h in ("JobIDRaw", "JobID") if h in header), None)
    if job_col is None or "Account" not in header:
        raise ConfigError(
            "header needs 'JobIDRaw' (or 'JobID') and 'Account' columns, '|'-separated", file=path, line=1
        )
    acct_col = header.index("Account")
    accounts: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("|")
        if len(cells) < len(header):
            raise ConfigError(f"{len(cells)} fields, the header has {len(header)}", file=path, line=number)
        job = cells[job_col].strip().split(".")[0]
        account = cells[acct_col].strip()
        if not job or not account:
            continue
        previous = accounts.get(job)
        if previous is not None and previous[0] != account:
            raise ConfigError(
                f"job {job} is under account {previous[0]!r} on line {previous[1]} and {account!r} here",
                file=path,
                line=number,
                field="Account",
            )
        accounts.setdefault(job, (account, number))
    return {job: acct for job, (acct, _) in accounts.items()}


def glob_regex(pattern: str) -> str:
    """A shell-style glob (``*``, ``?``) as an anchored regex both Python and Polars (Rust) accept."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return "^" + "".join(out) + "$"
