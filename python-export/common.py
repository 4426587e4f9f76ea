"""Process setup shared by the command-line scripts: threads, seeds, logging, device."""
import logging
import os
import random
import sys

import numpy as np
import torch

LOG = logging.getLogger("oneclass")


def setup(seed: int, threads: int = 1) -> torch.device:
    # One thread by default: the machines here have 2 cores shared with other work, and OpenMP
    # spinning threads collapse throughput when the other core is busy (TOOLCHAIN.md).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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
