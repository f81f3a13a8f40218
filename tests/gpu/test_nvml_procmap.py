"""Processes on a GPU → cgroup → Kubernetes pod or Slurm job, with a pod listing that changes under the agent."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from collectors.errors import InputError
from collectors.gpu.nvml.agent import NvmlAgent
from collectors.gpu.nvml.fake import FakeNvml
from collectors.gpu.nvml.fakegpu import FakeGpu
from collectors.gpu.nvml.procmap import PodIndex, PodListing, ProcessMapper, owner_from_cgroup

TS = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
UID = "3f1d2c4b-8a7e-4e5f-9a0b-1c2d3e4f5a6b"
CID = "ab" * 32


def write_cgroup(proc: Path, pid: int, text: str) -> None:
    (proc / str(pid)).mkdir(parents=True)
    (proc / str(pid) / "cgroup").write_text(text)


def listing(namespace: str = "sakura-ai-train", name: str = "llm-7b-0") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "metadata": {"uid": UID, "namespace": namespace, "name": name},
                "status": {"containerStatuses": [{"name": "trainer", "containerID": f"containerd://{CID}"}]},
            }
        ],
    }


def pod_cgroup() -> str:
    # cgroup v2 under the systemd driver: the pod UID's dashes become underscores.
    return (
        f"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID.replace('-', '_')}.slice/"
        f"cri-containerd-{CID}.scope\n"
    )


def test_gpu_processes_are_attributed_to_pods_and_jobs_through_their_cgroup(tmp_path: Path) -> None:
    write_cgroup(tmp_path, 4242, pod_cgroup())
    write_cgroup(tmp_path, 4343, "0::/system.slice/slurmstepd.scope/job_71234/step_0/user/task_0\n")
    gpu = FakeGpu("GPU-aaaa", util=0.8, processes=[(4242, 9 << 30), (4343, 2 << 30), (999, 1 << 30)])
    gpu.process_sm = {4242: 60, 4343: 20, 999: 0}
    nvml = FakeNvml([gpu])
    mapper = ProcessMapper(tmp_path, PodIndex.from_json(listing()))
    agent = NvmlAgent(nvml, site="tyo1", node="n1", interval_s=10, processes=mapper, clock=nvml.now)
    agent.open()
    holders = agent.sample_rows(TS)[0][0]["holders"]
    assert holders[0] == {
        "namespace": "sakura-ai-train",
        "pod": "llm-7b-0",
        "container": "trainer",
        "pod_uid": UID,
        "hpc_job": None,
        "pid": 4242,
        "util_ratio": 0.6,
        "mem_used_bytes": 9 << 30,
    }
    assert (holders[1]["hpc_job"], holders[1]["namespace"], holders[1]["util_ratio"]) == ("71234", None, 0.2)
    # Gone from /proc (or another PID namespace): kept as an unknown holder, not dropped.
    assert (holders[2]["pid"], holders[2]["namespace"], holders[2]["pod_uid"]) == (999, None, None)


def test_a_pod_listing_file_is_reread_when_it_changes_and_a_bad_refresh_keeps_the_last_good_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pods.json"
    now = [0.0]
    pods = PodListing(path, check_s=15, clock=lambda: now[0])
    assert pods.get(UID) is None
    assert pods.take_error() == f"{path}: cannot read the pod listing: No such file or directory"
    assert pods.take_error() is None  # reported once
    path.write_text(json.dumps(listing(name="llm-7b-0")))
    assert pods.get(UID) is None  # not looked at again before check_s
    now[0] = 15.0
    info = pods.get(UID)
    assert info is not None
    assert info.name == "llm-7b-0"
    path.write_text('{"items": [')  # a refresh caught half-written
    os.utime(path, ns=(1, 1))
    now[0] = 30.0
    info = pods.get(UID)
    assert info is not None
    assert info.name == "llm-7b-0"
    error = pods.take_error()
    assert error is not None
    assert error.startswith(f"{path}:line 1: not JSON")
    path.write_text(json.dumps(listing(name="llm-7b-1")))
    os.utime(path, ns=(2, 2))
    now[0] = 45.0
    info = pods.get(UID)
    assert info is not None
    assert info.name == "llm-7b-1"
    assert pods.take_error() is None


def test_a_pod_seen_before_its_listing_is_named_once_the_listing_arrives(tmp_path: Path) -> None:
    write_cgroup(tmp_path / "proc", 4242, pod_cgroup())
    path = tmp_path / "pods.json"
    now = [0.0]
    mapper = ProcessMapper(tmp_path / "proc", PodListing(path, check_s=1, clock=lambda: now[0]))
    assert mapper.owner(4242).pod_uid == UID
    assert mapper.owner(4242).pod is None
    path.write_text(json.dumps(listing()))
    now[0] = 2.0
    assert (mapper.owner(4242).namespace, mapper.owner(4242).pod) == ("sakura-ai-train", "llm-7b-0")


def test_a_reused_pid_is_resolved_afresh(tmp_path: Path) -> None:
    write_cgroup(tmp_path, 77, "0::/slurm/uid_1000/job_1/step_0\n")
    mapper = ProcessMapper(tmp_path)
    assert mapper.owner(77).hpc_job == "1"
    mapper.forget_except(set())
    (tmp_path / "77" / "cgroup").write_text("0::/slurm/uid_1000/job_2/step_0\n")
    assert mapper.owner(77).hpc_job == "2"


def test_a_listing_that_is_not_a_pod_list_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pods.json"
    path.write_text('["not", "a", "list object"]')
    with pytest.raises(InputError) as caught:
        PodIndex.from_file(path)
    assert str(caught.value) == f"{path}:field 'items': not a pod listing (expected an object with an 'items' list)"
    tolerant = PodIndex.from_json({"items": ["junk", {"metadata": {"uid": UID, "name": "p", "namespace": "n"}}]})
    assert len(tolerant) == 1


@pytest.mark.parametrize(
    ("cgroup", "expected"),
    [
        ("0::/system.slice/slurmstepd.scope/job_71234/step_0/user/task_0\n", {"hpc_job": "71234"}),
        ("4:devices:/slurm/uid_1000/job_55/step_batch\n", {"hpc_job": "55"}),
        (
            "11:pids:/kubepods/burstable/pod0e3c9a52-6b1f-4a8e-8f0c-3d2b1a0f9e8d/" + "cd" * 32 + "\n",
            {"pod_uid": "0e3c9a52-6b1f-4a8e-8f0c-3d2b1a0f9e8d"},
        ),
        ("0::/user.slice/user-1000.slice/session-3.scope\n", {}),
    ],
)
def test_cgroup_paths_of_slurm_and_kubernetes(cgroup: str, expected: dict[str, str]) -> None:
    owner = owner_from_cgroup(cgroup)
    got = {k: v for k, v in owner.__dict__.items() if v is not None}
    assert got == expected
