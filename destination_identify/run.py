"""Console-script entry point (`destination-identify`) and `main.py`'s target."""

import sys

from destination_identify.destination import DestinationIdentify


def run() -> None:
    DestinationIdentify().run(sys.argv[1:])
