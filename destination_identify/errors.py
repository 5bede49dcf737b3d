"""Errors typed by what the caller should do with them.

- `RecordRejected`: skippable. This record can never be accepted; count it, report it, go on.
- `ConfigError`: fatal, the user must change the configuration (Airbyte `config_error`).
- `TransientSyncError`: fatal for this run, but retrying later may work (`transient_error`).

Messages never carry record values, API keys or personal data: they are logged as they are.
"""


class RecordRejected(Exception):
    """A record the vendor could never accept; `reason` says why without quoting values."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SyncError(Exception):
    """Ends the sync; `failure_type` is the Airbyte failure type its TRACE carries."""

    failure_type = "system_error"


class ConfigError(SyncError):
    """The configuration (or the catalog) is wrong; the message says what to change."""

    failure_type = "config_error"


class TransientSyncError(SyncError):
    """The vendor or the network failed past the retry budget; a later run may succeed."""

    failure_type = "transient_error"


class VendorProtocolError(SyncError):
    """The vendor answered something its documentation does not allow (`system_error`)."""


def sync_error(failure_type: str, message: str) -> SyncError:
    """The error class for an Airbyte failure type (system_error for any other)."""
    for kind in (ConfigError, TransientSyncError):
        if kind.failure_type == failure_type:
            return kind(message)
    return VendorProtocolError(message)
