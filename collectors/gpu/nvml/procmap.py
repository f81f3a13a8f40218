"""Map a GPU process to who owns it: PID → cgroup → Kubernetes pod (UID, namespace, name) or Slurm job.

NVML reports the PIDs running on each GPU (host PID namespace). A PID's cgroup path names its pod
(``…kubepods…pod<uid>…``, with ``_`` instead of ``-`` under the systemd driver) or its Slurm job
(``…/job_<id>/…``). Pod UIDs are turned into namespace and pod name with a pod listing in the format of
``kubectl get pods -o json`` (refreshed by whatever the site runs on the node; :class:`PodListing` re-reads it
when it changes). The proc root is injected so tests and the simulator can give a directory of fake
``<pid>/cgroup`` files, as client_python's ProcessCollector does.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from collectors.errors import InputError

log = logging.getLogger("aigrid.nvml")

_POD_UID = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")
_CONTAINER = re.compile(r"(?:cri-containerd-|crio-|docker-)?([0-9a-f]{64})(?:\.scope)?$")
_SLURM_JOB = re.compile(r"/job_(\d+)(?:/|$)")


@dataclass(frozen=True)
class Owner:
    """Who a process belongs to; any field may be unknown (None)."""

    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    pod_uid: str | None = None
    hpc_job: str | None = None


@dataclass(frozen=True)
class CgroupRef:
    """What a process's cgroup path says about it (it never changes for a PID's lifetime)."""

    pod_uid: str | None = None
    container_id: str | None = None
    hpc_job: str | None = None


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    containers: dict[str, str]  # container id -> container name


class Pods(Protocol):
    """Anything that names a pod by its UID: a fixed :class:`PodIndex` or a reloading :class:`PodListing`."""

    def get(self, uid: str) -> PodInfo | None: ...


class PodIndex:
    """Pod UID → namespace/name (and container names) from a ``kubectl get pods -o json`` listing."""

    def __init__(self, pods: dict[str, PodInfo]) -> None:
        self._pods = pods

    def __len__(self) -> int:
        return len(self._pods)

    @classmethod
    def from_file(cls, path: Path) -> PodIndex:
        """Read a listing; an unreadable or malformed file is an :class:`InputError` naming it."""
        try:
            doc = json.loads(path.read_text())
        except OSError as exc:
            raise InputError(f"cannot read the pod listing: {exc.strerror or exc}", file=path) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            raise InputError(f"not JSON: {exc}", file=path, line=line) from None
        return cls.from_json(doc, origin=path)

    @classmethod
    def from_json(cls, doc: object, origin: Path | None = None) -> PodIndex:
        """Pods of a listing; items that are not pod objects are skipped (a listing is whatever kubectl wrote)."""
        if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
            raise InputError("not a pod listing (expected an object with an 'items' list)", file=origin, field="items")
        pods: dict[str, PodInfo] = {}
        for item in doc.get("items", []):
            meta = _obj(item, "metadata")
            uid = meta.get("uid")
            if not uid:
                continue
            containers = {}
            for status in _obj(item, "status").get("containerStatuses") or []:
                if not isinstance(status, dict):
                    continue
                cid = str(status.get("containerID", "")).split("://")[-1]
                if cid:
                    containers[cid] = str(status.get("name", ""))
            pods[str(uid)] = PodInfo(str(meta.get("namespace", "")), str(meta.get("name", "")), containers)
        return cls(pods)

    def get(self, uid: str) -> PodInfo | None:
        return self._pods.get(uid)


class PodListing:
    """A pod listing file that another process refreshes: re-read when its modification time changes.

    Checked at most every ``check_s`` seconds. A file that is missing or malformed keeps the last good listing
    and reports the problem once (``take_error``), so a half-written refresh never blanks the attribution.
    """

    def __init__(self, path: Path, check_s: float = 15.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.check_s = check_s
        self.clock = clock
        self._index = PodIndex({})
        self._mtime: int | None = None
        self._checked = float("-inf")
        self._error: str | None = None
        self._reported: str | None = None

    def get(self, uid: str) -> PodInfo | None:
        self.refresh()
        return self._index.get(uid)

    def refresh(self) -> None:
        now = self.clock()
        if now - self._checked < self.check_s:
            return
        self._checked = now
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError as exc:
            self._fail(str(InputError(f"cannot read the pod listing: {exc.strerror or exc}", file=self.path)))
            return
        if mtime == self._mtime:
            return
        try:
            self._index = PodIndex.from_file(self.path)
        except InputError as exc:
            self._fail(str(exc))
            return
        self._mtime = mtime
        self._error = self._reported = None

    def take_error(self) -> str | None:
        """The current problem with the file, once per distinct problem (for the agent's self-metrics)."""
        if self._error is None or self._error == self._reported:
            return None
        self._reported = self._error
        return self._error

    def _fail(self, message: str) -> None:
        if message != self._error:
            log.warning("%s (keeping the last good pod listing)", message)
        self._error = message


class ProcessMapper:
    """Resolves PIDs to owners. The cgroup is read once per PID; pod names are looked up every time, so a pod
    listing that arrives later still names processes seen before it."""

    def __init__(self, proc_root: Path = Path("/proc"), pods: Pods | None = None) -> None:
        self.proc_root = proc_root
        self.pods = pods
        self._cache: dict[int, CgroupRef] = {}

    def owner(self, pid: int) -> Owner:
        ref = self._cache.get(pid)
        if ref is None:
            ref = self._resolve(pid)
            self._cache[pid] = ref
        return _owner(ref, self.pods)

    def forget_except(self, live_pids: set[int]) -> None:
        """Drop cache entries of PIDs that are gone, so a reused PID is resolved afresh."""
        for pid in [p for p in self._cache if p not in live_pids]:
            del self._cache[pid]

    def _resolve(self, pid: int) -> CgroupRef:
        try:
            text = (self.proc_root / str(pid) / "cgroup").read_text()
        except OSError:
            return CgroupRef()
        return cgroup_ref(text)


def cgroup_ref(text: str) -> CgroupRef:
    """Parse ``/proc/<pid>/cgroup`` (v1 or v2): the Slurm job, or the pod UID and container id."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        job = _SLURM_JOB.search(path)
        if job:
            return CgroupRef(hpc_job=job.group(1))
        pod = _POD_UID.search(path)
        if pod:
            last = path.rstrip("/").rsplit("/", 1)[-1]
            cmatch = _CONTAINER.search(last)
            return CgroupRef(pod_uid=pod.group(1).replace("_", "-"), container_id=cmatch.group(1) if cmatch else None)
    return CgroupRef()


def owner_from_cgroup(text: str, pods: Pods | None = None) -> Owner:
    """Parse ``/proc/<pid>/cgroup`` into an owner, naming the pod through ``pods`` when it is listed."""
    return _owner(cgroup_ref(text), pods)


def _owner(ref: CgroupRef, pods: Pods | None) -> Owner:
    if ref.hpc_job is not None:
        return Owner(hpc_job=ref.hpc_job)
    if ref.pod_uid is None:
        return Owner()
    info = pods.get(ref.pod_uid) if pods is not None else None
    if info is None:
        return Owner(pod_uid=ref.pod_uid)
    container = info.containers.get(ref.container_id) if ref.container_id else None
    return Owner(namespace=info.namespace, pod=info.name, container=container, pod_uid=ref.pod_uid)


def _obj(item: Any, key: str) -> dict[str, Any]:
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, dict) else {}
