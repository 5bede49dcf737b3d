"""destination-identify: an Airbyte destination that turns rows into identify-user calls."""

__version__ = "0.1.0"
