"""A real `write` end to end against the bundled vendor emulator, for a newcomer to watch.

    python -m integration_tests.demo [thrivestack|crowdpower|zaius|userpilot]

Starts the emulator on 127.0.0.1, writes a config and catalog to a temporary folder, pipes
sample records and STATEs into the `destination-identify` CLI (a separate process), then prints
what the connector said and what the vendor received.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from integration_tests.emulator import VendorEmulator

API_KEY = "demo-key.secret"
VENDOR_OPTIONS = {
    "thrivestack": {},
    "crowdpower": {},
    "zaius": {"user_id_attribute": "customer_id"},
    "userpilot": {"mode": "bulk", "job_poll_interval_seconds": 0.2},
}
SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": ["null", "string"]},
        "name": {"type": ["null", "string"]},
        "phone": {"type": ["null", "string"]},
        "plan": {"type": ["null", "string"]},
        "seats": {"type": ["null", "integer"]},
        "created_at": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
        "address": {"type": ["null", "object"]},
        "company": {"type": ["null", "object"]},
    },
}


def sample_messages() -> list[dict]:
    messages = []
    names = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Zoë Ångström"]
    for i in range(1, 13):
        data = {
            "id": i,
            "email": f"user{i}@example.com",
            "name": names[i % len(names)],
            "phone": f"+1555000{i:04d}",
            "plan": "pro" if i % 2 else "free",
            "seats": i * 3,
            "created_at": f"2024-01-{i:02d}T08:00:00Z",
            "address": {"city": "Boston", "country": "US"},
            "company": {"id": f"acme-{i % 3}", "name": "Acme"},
        }
        if i == 5:
            data["seats"] = "many"  # fails the stream schema: reported, not sent
        messages.append({"type": "RECORD", "record": {"stream": "users", "data": data, "emitted_at": 1732262400000}})
        if i % 6 == 0:
            messages.append(
                {"type": "STATE", "state": {"id": i, "type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"id": i}}, "sourceStats": {"recordCount": 6.0}}}
            )
    return messages


def main() -> int:
    vendor = sys.argv[1] if len(sys.argv) > 1 else "thrivestack"
    if vendor not in VENDOR_OPTIONS:
        print(f"usage: python -m integration_tests.demo [{'|'.join(VENDOR_OPTIONS)}]")
        return 2
    with VendorEmulator(api_key=API_KEY, userpilot_job_polls=2) as emulator, tempfile.TemporaryDirectory() as folder:
        config = {"vendor": {"vendor": vendor, "api_key": API_KEY, "base_url": emulator.url, **VENDOR_OPTIONS[vendor]}, "flush_interval_seconds": 1}
        catalog = {"streams": [{"stream": {"name": "users", "json_schema": SCHEMA, "supported_sync_modes": ["full_refresh", "incremental"]}, "sync_mode": "full_refresh", "destination_sync_mode": "append_dedup", "primary_key": [["id"]]}]}
        Path(folder, "config.json").write_text(json.dumps(config))
        Path(folder, "catalog.json").write_text(json.dumps(catalog))
        stdin = "".join(json.dumps(message) + "\n" for message in sample_messages())
        environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
        command = [sys.executable, "-m", "destination_identify.run_module", "write", "--config", f"{folder}/config.json", "--catalog", f"{folder}/catalog.json"]
        print(f"$ destination-identify write --config config.json --catalog catalog.json  (vendor: {vendor})\n")
        finished = subprocess.run(command, input=stdin.encode(), capture_output=True, env=environment, timeout=120)
        for line in finished.stdout.decode().splitlines():
            print("  " + line)
        if finished.stderr:
            print(finished.stderr.decode(), file=sys.stderr)
        print(f"\nexit code {finished.returncode}\n")
        print(f"The emulated {vendor} API received:")
        for item in emulator.accepted(vendor):
            print("  " + json.dumps(item, ensure_ascii=False))
        stats = emulator.stats()
        print(f"\n{stats['requests']} requests: {json.dumps(stats['by_route'])}, statuses {json.dumps(stats['by_status'])}")
        return finished.returncode


if __name__ == "__main__":
    sys.exit(main())
