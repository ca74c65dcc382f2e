"""What every command does the same way: logging set-up, and an input error ends it with one line and status 2.

A user's mistake (a missing file, a bad key, a wrong checkpoint) prints ``error: <message>`` on one line, without a
traceback, and exits with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

MESSAGE_LIMIT = 400
INPUT_ERROR_STATUS = 2
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def one_line(error: Exception) -> str:
    """The error message on one line, shortened: state-dict mismatches list every key."""
    text = " ".join(str(error).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def fail(error: Exception, status: int = INPUT_ERROR_STATUS) -> int:
    """Prints ``error: <message>`` on one line; returns ``status``."""
    print(f"error: {one_line(error)}", file=sys.stderr, flush=True)
    return status


def run_command(run: Callable[[argparse.Namespace], int], args: argparse.Namespace,
                input_errors: tuple[type[Exception], ...], log_level: int = logging.WARNING) -> int:
    """Sets up logging at ``log_level``, then ``run(args)``; an input error ends it with one line and status 2."""
    logging.basicConfig(level=log_level, format=LOG_FORMAT)
    try:
        return run(args)
    except input_errors as error:
        return fail(error)
