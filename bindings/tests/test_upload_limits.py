"""Uploads are read within limits and refused at the first one passed, naming it (issue 13,
finding 5). The bombs are real files made here: an XLSX of 700 KB that declared five million empty
rows held the upload request for 80 s at 706 MB; a 155 KB shared-string bomb took a worker to
382 MB and broke the job."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.urls import reverse

from bindings import services, uploads
from bindings.choices import BulkJobStatus, NumberImportState
from bindings.models import BulkJob, NumberImport
from bindings.tests.imports import as_xlsx, upload
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HEADER_XML = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>number</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>city_code</t></is></c></row>'
)


def with_parts(**parts: bytes) -> bytes:
    """A real XLSX (made by openpyxl) with some of its parts replaced or added."""
    source = zipfile.ZipFile(io.BytesIO(as_xlsx([("+8617000000001", "0755")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            name = item.filename.replace("/", "_").replace(".", "_")
            target.writestr(item.filename, parts.pop(name, source.read(item.filename)))
        for name, data in parts.items():
            target.writestr(name.replace("_xml", ".xml").replace("xl_", "xl/"), data)
    return out.getvalue()


def sheet(rows_xml: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows_xml}</sheetData></worksheet>"
    ).encode()


def five_million_empty_rows() -> bytes:
    """Five million empty rows written out: some 30 kB zipped, 30 MB unpacked."""
    return with_parts(xl_worksheets_sheet1_xml=sheet(HEADER_XML + "<row/>" * 5_000_000))


def a_row_five_million_rows_down() -> bytes:
    """One number on row 5,000,000: a sheet of a few hundred bytes; a reader fills the gap."""
    far = '<row r="5000000"><c r="A5000000"><v>17000000001</v></c></row>'
    return with_parts(xl_worksheets_sheet1_xml=sheet(HEADER_XML + far))


def shared_string_bomb() -> bytes:
    """A shared-string table of a million copies of one long string, used by one cell."""
    strings = "<si><t>" + "x" * 200 + "</t></si>"
    table = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="1000000" uniqueCount="1000000">{strings * 1_000_000}</sst>'
    ).encode()
    cell = '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    return with_parts(xl_sharedStrings_xml=table, xl_worksheets_sheet1_xml=sheet(HEADER_XML + cell))


def refusal(response) -> str:
    assert response.status_code == 200
    return " ".join(str(e) for e in response.context["form"].errors["import_file"])


@pytest.fixture
def application():
    return ApplicationFactory(mode="AXB")


@pytest.fixture
def boss(boss, settings):
    boss.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages are read in English
    return boss


def test_five_million_empty_rows_are_refused_from_the_zip_directory_alone(boss, application):
    content = five_million_empty_rows()
    assert len(content) < 2 * 1024 * 1024  # small enough to pass the size limit
    message = refusal(upload(boss, application, content, name="rows.xlsx", fmt="1"))
    assert "unpacks" in message
    assert not NumberImport.objects.exists()


def test_a_row_five_million_rows_down_stops_the_reading_at_the_row_limit(boss, application):
    message = refusal(upload(boss, application, a_row_five_million_rows_down(), "far.xlsx", "1"))
    assert "more than 50000 rows (empty rows count too)" in message
    assert not NumberImport.objects.exists()


def test_a_shared_string_bomb_is_refused_before_a_string_is_read(boss, application):
    content = shared_string_bomb()
    assert len(content) < 2 * 1024 * 1024
    message = refusal(upload(boss, application, content, name="strings.xlsx", fmt="1"))
    assert "unpacks" in message
    assert not NumberImport.objects.exists()


def test_a_cell_too_long_is_refused_naming_its_row_and_column(boss, application):
    content = as_xlsx([("+8617000000001", "0755"), ("+8617000000002", "x" * 10_000)])
    message = refusal(upload(boss, application, content, name="long.xlsx", fmt="1"))
    assert "Row 3, column 2 has 10000 characters; at most 256" in message


def test_blank_lines_of_a_csv_count_as_rows(boss, application, settings):
    settings.BINDINGS_IMPORT_MAX_ROWS = 100
    content = b"number,city_code\n17000000001,0755\n" + b"\n" * 200
    message = refusal(upload(boss, application, content))
    assert "more than 100 rows (empty rows count too)" in message


def test_an_upload_over_the_limit_stops_while_it_streams_in(boss, application, settings):
    # given a limit of 10 kB, and a count of what reaches the handler that stores uploads
    settings.UPLOAD_MAX_BYTES = 10_000
    stored = []
    original = TemporaryFileUploadHandler.receive_data_chunk

    def counting(handler, raw_data, start):
        stored.append(len(raw_data))
        return original(handler, raw_data, start)

    content = b"number,city_code\n" + b"17000000001,0755\n" * 10_000  # 170 kB
    # when
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", counting)
        message = refusal(upload(boss, application, content))
    # then
    assert "larger than 10000 bytes" in message
    assert sum(stored) <= 10_000
    assert not NumberImport.objects.exists()


def test_the_worker_checks_a_stored_file_again(application):
    """A file that reached the database some other way is refused by the validation task."""
    job = NumberImport.objects.create(
        application=application,
        file_name="far.xlsx",
        file_format="xlsx",
        source=a_row_five_million_rows_down(),
        language="en",  # the uploader's: the worker writes the reason in it
    )
    services.validate_number_import(job.pk)
    job.refresh_from_db()
    assert job.state == NumberImportState.FAILED
    assert "more than 50000 rows" in job.error


def test_a_bulk_file_over_its_size_limit_is_refused_on_the_form(boss, application, settings):
    settings.BINDINGS_BULK_MAX_BYTES = 100
    response = boss.post(
        reverse("bindings:bulk"),
        {
            "application": application.pk,
            "file": SimpleUploadedFile("b.csv", b"a_number,b_number\n" + b"1,2\n" * 100),
        },
    )
    assert "at most 100 are accepted" in str(response.context["form"].errors["file"])
    assert not BulkJob.objects.exists()


def test_a_bulk_file_of_blank_lines_is_refused_and_the_worker_checks_again(application, settings):
    settings.BINDINGS_BULK_MAX_ROWS = 10
    text = "a_number,b_number,area_code\n" + "\n" * 50 + "138 0000 0001,139 0000 0001,0755\n"
    with pytest.raises(services.BindingRefused, match="more than 10 rows"):
        services.start_bulk_create(application, "blank.csv", text)
    job = BulkJob.objects.create(application=application, source=text, total=1, language="en")
    services.run_bulk_create(job.pk)
    job.refresh_from_db()
    assert job.status == BulkJobStatus.FAILED
    assert "more than 10 rows" in job.errors[0]["message"]


def test_limits_come_from_the_settings(settings):
    settings.UPLOAD_MAX_UNPACK_RATIO = 7
    assert uploads.Limits.number_import().max_ratio == 7
