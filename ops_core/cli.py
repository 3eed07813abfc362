"""What every command of the project shares: a failure a person can fix is one line and exit code 2."""
from __future__ import annotations

import sys
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from ops_core.errors import OpsError, first_line


def run(body: Callable[[], int], file_hint: object = None) -> int:
    """Run a command's body; bad input, an unreachable store or an unreadable file exit 2, no traceback."""
    try:
        return body()
    except OpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: {exc.filename or file_hint}: {exc.strerror or exc}", file=sys.stderr)
    except DBAPIError as exc:
        print(f"error: the database failed: {first_line(exc)}", file=sys.stderr)
    return 2
