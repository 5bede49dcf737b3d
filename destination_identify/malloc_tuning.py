"""Keep request bodies on glibc's heap instead of mapping and unmapping each one.

A batch's body is up to 5 MB (Thrivestack's are about 450 KB). Above glibc's mmap threshold
(128 KiB at start) every body is a fresh mapping, so each one costs page faults to fill and a
munmap to free. Raised thresholds let the next body reuse the freed memory: on 200,000
Thrivestack records, minor page faults fell from about 35,700 to 9,500 and system time from
0.3 s to 0.2 s, with peak RSS unchanged (the in-flight cap bounds how many bodies exist).
The issue measured 8-20% on its machine for the same change.

glibc only (Airbyte's images are Debian); elsewhere, or when the user set glibc's own
MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_, nothing changes.
"""

import ctypes
import os
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024  # above every vendor's largest body (5 MB)
TRIM_THRESHOLD_BYTES = 32 * 1024 * 1024  # free heap kept for reuse: a full in-flight window
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_bodies_on_heap() -> bool:
    """Raise glibc's thresholds; True if they were set."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in USER_SETTINGS):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
        )
    except (OSError, AttributeError):  # no libc symbols to reach: leave malloc as it is
        return False
