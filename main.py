"""Runs the connector as Airbyte does: `python main.py spec|check|write ...`."""

from destination_identify.run import run

if __name__ == "__main__":
    run()
