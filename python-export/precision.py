"""Training precision on CPU: bf16 autocast where the CPU computes bf16 natively and it is faster,
float32 everywhere else.

Why a capability check before any timing: PyTorch 1.13's oneDNN runs bf16 convolutions on any x86
CPU, but without AVX512-BF16 or AMX it emulates them, and then a training step is many times slower
(measured on the project's AMD EPYC Zen 3, AVX2 only: ResNet-18 width 0.25 at 32 px, batch 128,
2 threads: 98 images/s in float32, 6 images/s in bf16). Where the instructions exist, a short probe
of the real model on the real batch decides, because the gain depends on the CPU (2.9x measured with
AMX) and a slower bf16 must never be chosen silently. The choice is recorded in the manifest; pass
--precision fp32 / bf16 to reproduce a run exactly without the probe.
"""
import copy
import os
import time

import torch

BF16_FLAGS = ("amx_bf16", "avx512_bf16")
# bf16 must beat float32 by this factor in the probe to be chosen: below it, the probe's noise on a
# shared machine and bf16's lower precision are not worth it.
MIN_SPEEDUP = 1.15


def cpu_flags():
    """The CPU's feature flags (Linux /proc/cpuinfo), or None where they cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def native_bf16():
    """(True/False/None, description): whether the CPU has bf16 instructions (None: unknown)."""
    flags = cpu_flags()
    if flags is None:
        return None, "CPU flags unknown (no /proc/cpuinfo)"
    have = [f for f in BF16_FLAGS if f in flags]
    if have:
        return True, "CPU has " + ", ".join(have)
    return False, "CPU has neither AMX-BF16 nor AVX512-BF16 (bf16 would be emulated, many times slower)"


def autocast(device: torch.device, precision: str, cuda_amp: bool = False):
    """The autocast context of one training step (float32 weights, bf16 compute where asked)."""
    if device.type == "cuda":
        return torch.autocast("cuda", enabled=cuda_amp)
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")


def time_steps(step, model, x, y, precision, steps=3):
    """Images/s of `steps` training steps (after one warm-up) on a copy of the model."""
    m = copy.deepcopy(model).train()
    opt = torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9)
    step(m, opt, x, y, precision)
    t = time.perf_counter()
    for _ in range(steps):
        step(m, opt, x, y, precision)
    return steps * x.shape[0] / (time.perf_counter() - t)


def choose(requested: str, device: torch.device, probe=None):
    """Returns (precision, record for the manifest). `probe(precision) -> images/s` times the real
    training step; it runs only for 'auto' on a CPU that reports bf16 instructions (where the flags
    cannot be read, float32: an emulated bf16 probe alone could take minutes; --precision bf16 tries)."""
    if device.type != "cpu":
        return "fp32", {"requested": requested, "used": "fp32", "reason": f"{device.type}: use --amp for mixed precision"}
    if requested in ("fp32", "bf16"):
        reason = "requested"
        if requested == "bf16":
            ok, why = native_bf16()
            reason = f"requested ({why})"
        return requested, {"requested": requested, "used": requested, "reason": reason}
    ok, why = native_bf16()
    if ok is not True or probe is None:
        return "fp32", {"requested": "auto", "used": "fp32", "reason": why}
    fp32, bf16 = probe("fp32"), probe("bf16")
    used = "bf16" if bf16 >= MIN_SPEEDUP * fp32 else "fp32"
    return used, {"requested": "auto", "used": used, "reason": f"{why}; probe bf16/fp32 = {bf16 / fp32:.2f} "
                  f"(bf16 chosen at >= {MIN_SPEEDUP})",
                  "probeImagesPerSecond": {"fp32": round(fp32, 1), "bf16": round(bf16, 1)}}


def default_threads() -> int:
    """All cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
