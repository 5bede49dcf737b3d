"""glibc's thresholds, raised for the write command: fewer page faults for the same bodies."""

import os
import platform
import subprocess
import sys

import pytest

from destination_identify.malloc_tuning import keep_bodies_on_heap

# Builds and frees 100 bodies of 1,000 items of 450 bytes, as BatchBuilder and delivery do, and
# prints the minor page faults that took.
WORKLOAD = """
import resource, sys
from destination_identify.malloc_tuning import keep_bodies_on_heap
tuned = keep_bodies_on_heap() if sys.argv[1] == "tuned" else False
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
item = b"x" * 450
for _ in range(100):
    buffer = bytearray()
    for _ in range(1000):
        buffer += item
    body = b"".join((b"[", buffer, b"]"))
    del buffer, body
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


def run_workload(mode: str, **environment: str) -> tuple[str, int]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_") and key != "GLIBC_TUNABLES"}
    answer = subprocess.run(
        [sys.executable, "-c", WORKLOAD, mode], env={**env, **environment}, capture_output=True, text=True, check=True
    )
    tuned, faults = answer.stdout.split()
    return tuned, int(faults)


@glibc_only
def test_raised_thresholds_cut_the_page_faults_of_building_bodies():
    tuned, tuned_faults = run_workload("tuned")
    _, plain_faults = run_workload("plain")
    assert tuned == "True"
    assert tuned_faults < plain_faults * 0.7, (tuned_faults, plain_faults)


@glibc_only
@pytest.mark.parametrize(
    "setting",
    [
        {"MALLOC_MMAP_THRESHOLD_": "131072"},
        {"MALLOC_TRIM_THRESHOLD_": "131072"},
        {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"},
    ],
)
def test_the_users_own_glibc_settings_are_left_alone(setting):
    tuned, _ = run_workload("tuned", **setting)
    assert tuned == "False"


def test_elsewhere_nothing_is_changed(monkeypatch):
    """Not even looked up: the C library (the boundary) is never loaded, so mallopt is never called."""
    import ctypes

    loaded = []
    monkeypatch.setattr(ctypes, "CDLL", lambda *args, **kwargs: loaded.append(args))
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert keep_bodies_on_heap() is False
    assert loaded == []
