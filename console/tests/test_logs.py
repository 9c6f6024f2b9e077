"""Log lines never carry a full real number (issue 13: numbers searched for reached the logs)."""

from __future__ import annotations

import io
import logging

from django.conf import settings

from console.logs import MaskNumbers


def emit(logger_name: str, *args, exc: BaseException | None = None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskNumbers())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        if exc is not None:
            try:
                raise exc
            except type(exc):
                logger.exception(*args)
        else:
            logger.warning(*args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_log_line_masks_the_numbers_in_its_message():
    line = emit("billing.views", "calls list timed out: %s", "q=%2B8613812345678&q2=13912345678")
    assert "8613812345678" not in line
    assert "13912345678" not in line
    assert "139****5678" in line


def test_a_traceback_masks_the_numbers_in_its_exception():
    text = emit("console.inbox", "push refused", exc=ValueError("caller_num=(+8613812345678)"))
    assert "ValueError" in text
    assert "+8613812345678" not in text
    assert "+86138****5678" in text


def test_every_log_line_of_the_console_goes_through_the_filter():
    handler = settings.LOGGING["handlers"]["console"]
    assert "mask_numbers" in handler["filters"]
    assert settings.LOGGING["filters"]["mask_numbers"]["()"] == "console.logs.MaskNumbers"
    assert settings.LOGGING["root"]["handlers"] == ["console"]
    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False  # workers keep that handler
    root = logging.getLogger()
    assert any(isinstance(f, MaskNumbers) for h in root.handlers for f in h.filters)
