"""Helpers of the X-number import tests: the upload form and files made in memory."""

from __future__ import annotations

import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

IMPORT = reverse("bindings:import")


def upload(client, application, content: bytes, name="numbers.csv", fmt="0"):
    return client.post(
        IMPORT,
        {
            "resource": "0",
            "format": fmt,
            "application": application.pk,
            "import_file": SimpleUploadedFile(name, content),
        },
    )


def as_xlsx(lines) -> bytes:
    """An XLSX workbook of ``(number, city_code)`` rows under their header."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["number", "city_code"])
    for line in lines:
        sheet.append(list(line))
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
