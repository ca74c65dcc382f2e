import io
import logging

from ssv.progress import (
    LIGHTNING_INFO_LOGGER,
    LOG_FILE_REFRESH_RATE,
    IterationsReached,
    count_iterations_in_lightnings_messages,
    iterations_of,
    refresh_rate,
)


def test_two_optimizer_steps_make_an_iteration_and_a_lone_step_counts_as_one():
    assert [iterations_of(steps) for steps in (0, 1, 2, 60)] == [0, 1, 1, 30]


def test_lightnings_closing_line_counts_iterations():
    record = logging.LogRecord(LIGHTNING_INFO_LOGGER, logging.INFO, __file__, 1,
                               "`Trainer.fit` stopped: `max_steps=60` reached.", (), None)
    assert IterationsReached().filter(record)
    assert record.getMessage() == "`Trainer.fit` stopped: trainer.max_steps=30 iterations reached."


def test_other_messages_pass_unchanged_and_the_filter_is_installed_once():
    record = logging.LogRecord(LIGHTNING_INFO_LOGGER, logging.INFO, __file__, 1, "GPU available: %s", (False,), None)
    assert IterationsReached().filter(record) and record.getMessage() == "GPU available: False"
    count_iterations_in_lightnings_messages()
    count_iterations_in_lightnings_messages()
    installed = [f for f in logging.getLogger(LIGHTNING_INFO_LOGGER).filters if isinstance(f, IterationsReached)]
    assert len(installed) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_redraws_every_step_on_a_terminal_and_rarely_in_a_log_file():
    assert refresh_rate(_Terminal()) == 1
    assert refresh_rate(io.StringIO()) == LOG_FILE_REFRESH_RATE > 1
