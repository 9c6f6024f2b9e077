"""Uploads stop at their size limit while they stream in, not after they are stored.

Django writes an uploaded file to memory or a temporary file before any view sees it; the view
could only refuse a 10 GB file once all of it was on disk. :class:`LimitedUploadHandler`, first of
``FILE_UPLOAD_HANDLERS``, counts the bytes of each file as they arrive and stops the upload at
``UPLOAD_MAX_BYTES`` (the largest upload limit of the console): nothing more is read or stored,
and the view says which limit the file passed (:func:`explain_refusal`). The limits of each kind
of upload (rows, cells, unpacked size) are checked while the file is read, in
``bindings/uploads.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _


class LimitedUploadHandler(FileUploadHandler):
    """Stops reading a request once one of its files passes ``UPLOAD_MAX_BYTES``."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request_length = content_length or 0
        return None  # the other handlers parse the request

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        limit = settings.UPLOAD_MAX_BYTES
        if start + len(raw_data) > limit:
            self.request.upload_refused = _(
                "The file is larger than %(max)s bytes; at most %(max)s are accepted at a time."
            ) % {"max": limit}
            # A body far over the limit is cut off at once; a little over, read to its end and
            # dropped, so that the browser shows the page that says why.
            raise StopUpload(connection_reset=self.request_length > 4 * limit)
        return raw_data

    def file_complete(self, file_size: int):
        return None  # the next handler stores the file


def explain_refusal(request, form, field: str) -> bool:
    """Put the limit a cut-off upload passed on ``form``'s ``field``; True if there was one."""
    message = getattr(request, "upload_refused", None)
    if not message:
        return False
    form.errors[field] = form.error_class([message])
    return True
