"""Pytest plugin for the Airbyte standard tests in test_airbyte_conformance.py.

It loads the CDK's own hooks (which parametrize the suite with the scenarios of
acceptance-test-config.yml) and deselects the suite's Docker image tests, saying why.

It is required through `pytest_plugins` by that test module rather than by a conftest: pytest
accepts `pytest_plugins` only in the top-level conftest, and which conftest is top-level depends
on how pytest is invoked (`pytest`, `pytest integration_tests`, `.ci/run`).
"""

from __future__ import annotations

import pytest

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

IMAGE_TESTS_MARKER = "image_tests"
DESELECTED_REASON = (
    "they build the image (from Airbyte's template Dockerfile, fetched from GitHub) and run it with "
    "`docker run`; no Docker engine runs on our machines or in CI (a docker CLI may exist, so they "
    "would fail rather than skip), and GitHub is out of reach. The image is checked without them by "
    "test_dockerfile_* and test_airbyte_template_* in "
    "integration_tests/test_airbyte_conformance.py (template rules, hadolint, and the Dockerfile's "
    "install steps replayed into a fresh virtualenv whose entrypoint must answer `spec`). "
    "Run them where Docker runs with: pytest -m image_tests integration_tests/test_airbyte_conformance.py"
)

_deselected: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{IMAGE_TESTS_MARKER}: Airbyte standard tests that need a Docker engine")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the Docker image tests, unless `-m` names them explicitly."""
    if IMAGE_TESTS_MARKER in (config.getoption("markexpr") or ""):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker(IMAGE_TESTS_MARKER) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        _deselected[:] = [item.nodeid for item in drop]


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    if _deselected:
        terminalreporter.write_line(
            f"destination-identify: deselected {len(_deselected)} Airbyte standard Docker image tests "
            f"(marker `{IMAGE_TESTS_MARKER}`): {DESELECTED_REASON}"
        )
