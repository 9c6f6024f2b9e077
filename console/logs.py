"""Log lines never carry a full real number (``console.privacy``).

:class:`MaskNumbers` is a filter on the console's log handler (``LOGGING`` in settings): every
record, whoever wrote it (Django, Celery, the console), leaves with the numbers in its message and
in its traceback masked by ``console.numbers.mask_text``. The access log of gunicorn has its own
logger class, ``console.gunicorn.MaskingLogger``.
"""

from __future__ import annotations

import logging

from console.numbers import mask_text

_FORMATTER = logging.Formatter()


class MaskNumbers(logging.Filter):
    """Mask every phone number in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(_FORMATTER.formatException(record.exc_info))
        return True
