"""`python -m mlpipex.cli` runs the CLI (as the `mlpipex` script does)."""

from mlpipex.cli.main import run

run()
