"""Fixtures: a vendor emulator on 127.0.0.1 per test (shared helpers are in cli.py)."""

from __future__ import annotations

import pytest

from integration_tests.cli import API_KEY
from integration_tests.emulator import VendorEmulator


@pytest.fixture
def make_emulator():
    """Start an emulator with custom settings (the key is always cli.API_KEY)."""
    started = []

    def make(**options) -> VendorEmulator:
        emulator = VendorEmulator(API_KEY, **options).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator) -> VendorEmulator:
    return make_emulator()


@pytest.fixture
def auth_styles(monkeypatch) -> list:
    """Which Thrivestack auth header each request used ("bearer" / "x-api-key"), never its value.

    Wraps the emulator's Thrivestack route (it accepts both styles, as the vendor does)."""
    from integration_tests import emulator as emulator_module

    seen: list[str] = []
    original = emulator_module.ROUTES[("POST", "/api/identify")]

    def recording(emu, req):
        if (req.headers.get("Authorization") or "").startswith("Bearer "):
            seen.append("bearer")
        elif req.headers.get("x-api-key") is not None:
            seen.append("x-api-key")
        else:
            seen.append("none")
        return original(emu, req)

    monkeypatch.setitem(emulator_module.ROUTES, ("POST", "/api/identify"), recording)
    return seen
