"""`python -m destination_identify.run_module`: the console script without needing it on PATH."""

from destination_identify.run import run

run()
