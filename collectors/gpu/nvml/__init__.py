"""The NVML agent: samples every GPU of a node through NVML and lands one row per GPU per sample.

The NVML library is injected (the ``pynvml`` module in production, a fake with the same functions in tests
and in the simulator), which is the seam that lets tests exercise the agent's error handling without a GPU.
"""
