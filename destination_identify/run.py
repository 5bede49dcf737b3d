"""Console-script entry point (`destination-identify`) and `main.py`'s target.

`write` goes straight to write_command (no airbyte-cdk import: faster start, less memory);
`spec` and `check` run through the CDK's Destination.
"""

import sys


def run() -> None:
    arguments = sys.argv[1:]
    if arguments[:1] == ["write"]:
        from destination_identify.write_command import main

        sys.exit(main(arguments[1:]))
    from destination_identify.destination import DestinationIdentify

    DestinationIdentify().run(arguments)
