"""Every list page stays usable on a big table (issue #7): no query counts a whole table.

The walk covers every changelist registered in the admin (new models included by themselves), each
filter of its ``list_filter`` applied once and its search, plus the console's list pages. From the
SQL each page ran it asserts that no query over a table that grows counts it without a bound
(``SELECT COUNT(*)`` other than the paginator's ``COUNT(*) FROM (… LIMIT n)``) or lists its
distinct values (Django's default filter of a plain field, ``date_hierarchy``).
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
from datetime import date

import pytest
from axes.models import AccessLog
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from billing.models import CallEvent, CallRecord, SmsRecord, Statement
from billing.tests.factories import make_record
from bindings.models import Binding, Reconciliation, XNumber
from bindings.tests.factories import BindingFactory
from console import audit
from console.choices import AuditAction
from console.models import AuditLog, Delivery, PlatformCall
from console.testing.factories import ApplicationFactory, PlatformCallFactory
from recordings.models import Recording
from recordings.tests.factories import make_recording

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.embedded]

# Tables that grow without bound in production (millions of rows).
LARGE_MODELS = (
    Binding,
    XNumber,
    PlatformCall,
    Reconciliation,
    AuditLog,
    Delivery,
    CallRecord,
    CallEvent,
    SmsRecord,
    Recording,
    Statement,
    AccessLog,  # django-axes: a row per sign-in
)
LARGE_TABLES = {model._meta.db_table for model in LARGE_MODELS}
# The paginator's bounded count: COUNT(*) over a subquery that stops at a LIMIT.
BOUNDED_COUNT = re.compile(
    r'^SELECT COUNT\(\*\)(?: AS "__count")? FROM \(SELECT .* LIMIT \d+\) subquery$', re.S
)
# Counts that are bounded by what they select, not by a LIMIT: (marker in the SQL, why).
BOUNDED_BY_INDEX = [
    # recordings.services.at_risk_count (the banner, cached): outstanding recordings only, read
    # through the partial index recording_outstanding.
    '"recordings_recording"."alerted_at" IS NOT NULL',
]
TABLE = re.compile(r'(?:FROM|JOIN) "(\w+)"')


def unbounded_reads(queries) -> list[str]:
    """The SQL of each query that counts or lists the distinct values of a whole large table."""
    found = []
    for query in queries:
        sql = query["sql"]
        if not set(TABLE.findall(sql)) & LARGE_TABLES:
            continue
        if "COUNT(" in sql.upper() and not BOUNDED_COUNT.match(sql):
            if not any(marker in sql for marker in BOUNDED_BY_INDEX):
                found.append(sql)
        elif re.search(r"\bSELECT DISTINCT\b", sql) and not re.search(r"\bLIMIT \d+", sql):
            found.append(sql)
    return found


@pytest.fixture
def rows(db):
    """A few rows of every listed model, so that each page renders rows and filter choices."""
    application = ApplicationFactory(name="Ride hailing")
    binding = BindingFactory(application=application, order_ref="order-1")
    PlatformCallFactory(application=application, binding=binding)
    audit.record(AuditAction.CREATE, binding, details={"by": "test"})
    Delivery.objects.create(
        application=application,
        endpoint="fee",
        kind="fee",
        state="failed",
        body=b"{}",
        size=2,
        digest="0" * 64,
        error="unreadable",
    )
    make_record(application)
    make_recording(application)
    SmsRecord.objects.create(
        application=application,
        sms_identifier="sms-1",
        notification_mode="Notify",
        calling="+8613800000001",
        called="+8613800000002",
        virtual_number=binding.x_number,
        event="smsNotify",
        time_stamp="2026-11-01T00:00:00Z",
    )
    Statement.objects.create(application=application, month=date(2026, 10, 1))
    Reconciliation.objects.create(application=application)
    return application


def get(client, url: str) -> tuple[object, list[str]]:
    """The page (redirects followed) and the unbounded reads of large tables it made."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, follow=True)
    return response, unbounded_reads(queries.captured_queries)


def changelist_urls(client) -> list[str]:
    """Every registered changelist, then each of its filters applied once, then its search."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        urls.append(url)
        response = client.get(url, follow=True)
        changelist = response.context and response.context.get("cl")
        if not changelist:
            continue  # CallRecordAdmin leads to the console's calls list, walked below
        for spec in changelist.filter_specs:
            choice = next((c for c in spec.choices(changelist) if not c["selected"]), None)
            if choice is None:  # a third-party filter with nothing to choose from in this data
                assert model not in LARGE_MODELS, f"{model.__name__}: {spec.title} has no choice"
                continue
            urls.append(url + choice["query_string"])
        if model_admin.search_fields:
            urls.append(url + "?q=%2B8613800000001")
    return urls


CONSOLE_PAGES = [
    reverse("home"),
    reverse("home") + "?q=138%200000%200001",
    reverse("billing:calls"),
    reverse("billing:calls") + "?outcome=callee",
    reverse("billing:calls") + "?q=%2B8613800000001",
    reverse("billing:live_calls"),
    reverse("billing:statements"),
    reverse("billing:statements") + "?state=open",
    reverse("billing:dashboard"),
    reverse("recordings:at_risk"),
    reverse("bindings:list"),
    reverse("bindings:list") + "?status=active",
    reverse("bindings:list") + "?q=138%200000%200001",
    reverse("bindings:list") + "?q=order-1",
    reverse("bindings:numbers"),
    reverse("bindings:numbers") + "?state=available",
    reverse("bindings:numbers") + "?q=0755",
    reverse("bindings:imports"),
    reverse("bindings:reconciliations"),
]


def test_no_list_page_counts_a_whole_large_table(client, make_user, rows):
    # given
    client.force_login(make_user("chief", is_superuser=True))
    urls = changelist_urls(client) + CONSOLE_PAGES
    assert len(urls) > 40, "the walk must cover every changelist, its filters and the console"
    # when
    failures, unbounded = [], {}
    for url in urls:
        response, reads = get(client, url)
        if response.status_code != 200:
            failures.append((url, response.status_code))
        if reads:
            unbounded[url] = reads
    # then
    assert failures == []
    assert unbounded == {}


def test_every_large_model_in_the_admin_uses_the_large_table_paginator():
    from console.paginators import LargeTablePaginator

    lacking = [
        model.__name__
        for model, model_admin in admin.site._registry.items()
        if model in LARGE_MODELS
        and model is not CallRecord  # its changelist only redirects to the calls list
        and (
            not issubclass(model_admin.paginator, LargeTablePaginator)
            or model_admin.show_full_result_count
        )
    ]
    assert lacking == []


@pytest.mark.parametrize("model", [XNumber, Delivery, Recording])
def test_the_walk_catches_a_list_without_the_paginator(client, make_user, rows, model):
    """The check above can fail: Django's own paginator counts the whole table."""
    # given
    client.force_login(make_user("chief", is_superuser=True))
    model_admin = admin.site._registry[model]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    # when
    model_admin.paginator = Paginator
    try:
        response, reads = get(client, url)
    finally:
        del model_admin.paginator
    # then
    assert response.status_code == 200
    assert any(model._meta.db_table in sql for sql in reads), reads


def test_the_walk_catches_a_full_result_count(client, make_user, rows):
    # given
    client.force_login(make_user("chief", is_superuser=True))
    model_admin = admin.site._registry[PlatformCall]
    url = reverse("admin:console_platformcall_changelist") + "?interface=axb_bind"
    # when
    model_admin.show_full_result_count = True
    try:
        response, reads = get(client, url)
    finally:
        del model_admin.show_full_result_count
    # then
    assert response.status_code == 200
    assert reads
    assert all("bindings_platformcall" in sql for sql in reads)


def english_labels() -> dict[str, str]:
    """Every choice label of our apps that has a Chinese translation: English -> Chinese."""
    labels = {}
    for module in ("console.choices", "bindings.choices", "billing.choices", "recordings.choices"):
        for _name, choices in inspect.getmembers(importlib.import_module(module), inspect.isclass):
            if not issubclass(choices, models.Choices) or choices.__module__ != module:
                continue
            for _value, label in choices.choices:
                with translation.override("en"):
                    english = str(label)
                with translation.override("zh-hans"):
                    chinese = str(label)
                if chinese != english:
                    labels[english] = chinese
    from billing.admin import NOTIFICATION_MODES

    for label in NOTIFICATION_MODES.values():
        with translation.override("en"):
            english = str(label)
        labels[english] = str(label)
    return labels


def test_choice_labels_on_the_lists_speak_chinese_by_default(client, make_user, rows):
    """A choice shown in English (an untranslated label, a raw stored value) fails the walk."""
    # given
    client.force_login(make_user("chief", is_superuser=True))
    labels = english_labels()
    assert labels["Active"] != "Active", "the binding status is translated"
    urls = changelist_urls(client) + CONSOLE_PAGES
    # when
    english = {}
    for url in urls:
        page = html.unescape(client.get(url, follow=True).content.decode())
        shown = sorted(e for e in labels if re.search(rf">\s*{re.escape(e)}\s*<", page))
        if shown:
            english[url] = shown
    binding_list = client.get(reverse("bindings:list")).content.decode()
    # then
    assert english == {}
    assert f">{labels['Active']}<" in binding_list
