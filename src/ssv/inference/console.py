"""One-line errors for the inference commands."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

MESSAGE_LIMIT = 400
INPUT_ERROR_STATUS = 2


def one_line(error: Exception) -> str:
    """The error message on one line, shortened: state-dict mismatches list every key."""
    text = " ".join(str(error).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def fail(error: Exception) -> int:
    """Prints ``error: <message>`` on one line; returns the input-error status."""
    print(f"error: {one_line(error)}", file=sys.stderr)
    return INPUT_ERROR_STATUS


def run_command(run: Callable[[argparse.Namespace], int], args: argparse.Namespace,
                input_errors: tuple[type[Exception], ...]) -> int:
    """``run(args)``; an input error ends it with one line and status 2."""
    try:
        return run(args)
    except input_errors as error:
        return fail(error)
