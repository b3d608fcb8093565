"""Running a test where nothing can reach the network: a new network namespace (``unshare -rn``)
with only loopback up. Tests that resolve names or could connect out are wrapped in ``isolated``.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., None])
_FLAG = "MLPIPEX_TEST_IN_NETNS"
_ROOT = Path(__file__).resolve().parents[1]
_SCRIPT = 'ip link set lo up && exec "$0" -m pytest -q -x -p no:cacheprovider "$1"'


def isolated(test: F) -> F:
    """Run test again, alone, inside a network namespace; its fixtures run there too."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        if os.environ.get(_FLAG) == "1":
            test(*args, **kwargs)
            return
        nodeid = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0]
        proc = subprocess.run(
            ["unshare", "-rn", "sh", "-c", _SCRIPT, sys.executable, nodeid],
            cwd=_ROOT,
            env={**os.environ, _FLAG: "1"},
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert " passed" in proc.stdout, proc.stdout[-2000:]

    return wrapper  # type: ignore[return-value]
