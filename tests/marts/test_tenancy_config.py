"""tenants.yaml and the sacct export: every rule kind loads; every mistake names the file, the tenant and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.errors import ConfigError
from pipelines.defs.tenancy.assets import describe_rules
from pipelines.lib.tenancy import MigInstance, load_slurm_accounts, load_tenants

FULL = """\
version: 1
slurm_jobs_file: sacct.txt
tenants:
  - id: alpha
    name: Alpha
    namespaces: ["alpha-*"]
    pods: ["llm-serve-*"]
  - id: beta
    name: Beta
    hpc_job_prefixes: ["88"]
    slurm_accounts: [beta-lab]
    reservations:
      - mig_instances: ["GPU-1/3", "GPU-1/4"]
        from: 2026-11-01T00:00:00+09:00
        until: 2026-12-01T00:00:00Z
  - id: ran
    name: AI-RAN
    kind: ran
    namespaces: [ran-du]
    reservations:
      - gpus: [GPU-2]
        from: 2026-11-01T00:00:00Z
        until: 2026-11-02T00:00:00Z
"""


def _write(tmp_path: Path, text: str, name: str = "tenants.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_rule_kind_loads_and_times_become_utc(tmp_path: Path) -> None:
    config = load_tenants(_write(tmp_path, FULL))
    alpha, beta, _ran = config.tenants
    assert alpha.pods == ["llm-serve-*"]
    assert beta.reservations[0].instances == [
        MigInstance(gpu_uuid="GPU-1", gpu_instance_id=3),
        MigInstance(gpu_uuid="GPU-1", gpu_instance_id=4),
    ]
    assert beta.reservations[0].valid_from.isoformat() == "2026-10-31T15:00:00+00:00"
    assert [config.kind_of(t) for t in ("alpha", "ran", "idle", "unattributed")] == [
        "ai",
        "ran",
        "idle",
        "unattributed",
    ]
    assert describe_rules(beta) == (
        "reserves 2 GPU(s)/instance(s) 2026-10-31T15:00Z–2026-12-01T00:00Z; Slurm accounts beta-lab; HPC jobs 88*"
    )


@pytest.mark.parametrize(
    ("text", "message", "field"),
    [
        (
            FULL.replace('"GPU-1/3"', '"GPU-1:3"'),
            "'GPU-1:3' is not '<GPU UUID>/<GPU instance id>'",
            "tenants[beta].reservations[0].mig_instances",
        ),
        (
            FULL.replace("gpus: [GPU-2]", "gpus: [GPU-1]").replace("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"),
            "GPU GPU-1 is reserved by both 'beta' and 'ran' at the same time",
            None,
        ),
        (
            FULL.replace("namespaces: [ran-du]", 'namespaces: ["alpha-*"]'),
            "namespaces entry 'alpha-*' is claimed by both 'alpha' and 'ran'",
            None,
        ),
        (FULL.replace("slurm_jobs_file: sacct.txt\n", ""), "'slurm_accounts' rules need 'slurm_jobs_file'", None),
        (
            FULL.replace('pods: ["llm-serve-*"]', 'pods: ["llm serve"]'),
            "may not be empty or contain spaces",
            "tenants[alpha].pods",
        ),
        (
            FULL.replace("      - gpus: [GPU-2]\n", "      - gpus: []\n"),
            "a reservation needs 'gpus' or 'mig_instances'",
            "tenants[ran].reservations[0]",
        ),
        (FULL.replace("kind: ran", "kind: radio"), "Input should be 'ai' or 'ran'", "tenants[ran].kind"),
    ],
)
def test_invalid_configurations_name_what_is_wrong(tmp_path: Path, text: str, message: str, field: str | None) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_tenants(path)
    assert message in str(info.value)
    assert info.value.field == field
    assert info.value.file == path


def test_sacct_export_maps_jobs_and_steps_to_accounts(tmp_path: Path) -> None:
    config = load_tenants(_write(tmp_path, FULL))
    _write(
        tmp_path,
        "JobIDRaw|JobName|Account|State\n4242|train|beta-lab|COMPLETED\n4242.batch|batch|beta-lab|COMPLETED\n"
        "4243.0|step|alpha-lab|RUNNING\n4244|idle||PENDING\n",
        "sacct.txt",
    )
    assert load_slurm_accounts(config, tmp_path) == {"4242": "beta-lab", "4243": "alpha-lab"}


@pytest.mark.parametrize(
    ("export", "message", "line"),
    [
        ("JobID|User\n1|u\n", "header needs 'JobIDRaw' (or 'JobID') and 'Account'", 1),
        ("JobIDRaw|Account\n1|a\n1.batch|b\n", "job 1 is under account 'a' on line 2 and 'b' here", 3),
        ("JobIDRaw|Account|User\n1|a\n", "2 fields, the header has 3", 2),
        ("", "empty sacct export", 1),
    ],
)
def test_bad_sacct_exports_name_the_line(tmp_path: Path, export: str, message: str, line: int) -> None:
    config = load_tenants(_write(tmp_path, FULL))
    path = _write(tmp_path, export, "sacct.txt")
    with pytest.raises(ConfigError) as info:
        load_slurm_accounts(config, tmp_path)
    assert message in str(info.value)
    assert (info.value.file, info.value.line) == (path, line)


def test_missing_sacct_export_is_a_clear_error(tmp_path: Path) -> None:
    config = load_tenants(_write(tmp_path, FULL))
    with pytest.raises(ConfigError, match="file not found"):
        load_slurm_accounts(config, tmp_path)
