"""Where a figure comes from: the commit of the code and the machine that produced it.

``train.py pipeline`` writes both into ``results.md`` and ``bench/run_all.py`` into its JSON, so a
number can always be traced to the code and the hardware behind it.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

SOURCE = Path(__file__).resolve().parents[1]


def source_commit() -> str:
    """The checkout's commit, marked when tracked files have changed since; or why it is unknown."""
    try:
        top, head = subprocess.run(
            ["git", "-C", SOURCE, "rev-parse", "--show-toplevel", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        changes = subprocess.run(
            ["git", "-C", SOURCE, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, ValueError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    if Path(top).resolve() != SOURCE:  # installed inside someone else's repository, whose commit says nothing of this code
        return "unknown (not a git checkout)"
    return head[:12] + (" with uncommitted changes" if changes.strip() else "")


def hardware(device: torch.device) -> str:
    """The accelerator (when ``device`` is one), the CPU model and its core count, and torch's version."""
    cpu = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    cores = f"{cpu}, {os.cpu_count()} CPU cores"
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__}), {cores}"
    return f"{cores}, no GPU (torch {torch.__version__})"
