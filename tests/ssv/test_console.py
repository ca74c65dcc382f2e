import argparse
import logging

import pytest

from ssv.console import INPUT_ERROR_STATUS, MESSAGE_LIMIT, one_line, run_command


def test_one_line_joins_lines_and_shortens_long_messages():
    assert one_line(ValueError("missing keys:\n  a\n  b")) == "missing keys: a b"
    long = one_line(ValueError("x" * (2 * MESSAGE_LIMIT)))
    assert len(long) == MESSAGE_LIMIT and long.endswith("...")


def test_an_input_error_ends_the_command_with_one_line_and_status_2(capsys):
    def run(args):
        raise FileNotFoundError(f"{args.path}: no such file\nsee the README")

    status = run_command(run, argparse.Namespace(path="data/x.csv"), (FileNotFoundError,))
    assert status == INPUT_ERROR_STATUS == 2
    assert capsys.readouterr().err == "error: data/x.csv: no such file see the README\n"


def test_the_command_status_passes_through_and_other_errors_keep_their_traceback():
    assert run_command(lambda args: 7, argparse.Namespace(), (ValueError,)) == 7
    with pytest.raises(KeyError):
        run_command(lambda args: {}["bug"], argparse.Namespace(), (ValueError,))


def test_logging_is_set_up_at_the_command_level(monkeypatch):
    calls = []
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: calls.append(kwargs))
    run_command(lambda args: 0, argparse.Namespace(), (), log_level=logging.INFO)
    assert calls[0]["level"] == logging.INFO
