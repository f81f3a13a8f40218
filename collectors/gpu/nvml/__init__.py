"""The NVML agent: samples every GPU (and MIG instance) of a node through NVML and lands one row per each per sample.

The NVML library is injected (the ``pynvml`` module in production, a fake with the same functions in tests and
in the simulator), which is the seam that lets tests exercise the agent's error handling without a GPU.

- :mod:`.agent` — ``NvmlAgent``: open / sample / close, device loss and NVML re-initialisation;
- :mod:`.device` — one GPU (and its MIG instances) into rows; :mod:`.mig`, :mod:`.gpm`, :mod:`.counters`;
- :mod:`.fieldvalues` — the batched field reads and their fast decoder; :mod:`.errors`, :mod:`.calls`;
- :mod:`.events` (+ :mod:`.xid`) — the NVML event-set thread; :mod:`.selfmetrics` — ``collector_health`` rows;
- :mod:`.procmap` — PID → cgroup → pod / Slurm job; :mod:`.frames` — rows → landing frames;
- :mod:`.loop` — the run loop behind ``aigrid collect nvml``; :mod:`.fake` (+ :mod:`.fakegpu`) — a fake NVML.

See docs/nvml-agent.md.
"""
