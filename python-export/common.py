"""Process setup shared by the command-line scripts: threads, seeds, logging, device."""
import logging
import os
import random
import sys

# Before torch loads OpenMP, which reads it once (scripts that import torch earlier set it themselves):
# spinning OpenMP threads collapse throughput when the other core of a shared machine is busy.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

LOG = logging.getLogger("oneclass")


def setup(seed: int, threads: int = 1) -> torch.device:
    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    LOG.info("torch %s on %s, %d CPU thread(s), seed %d", torch.__version__, device, threads, seed)
    return device
