"""The console pages of bindings: search, masking, reveal, create per mode, end, timeline, lists."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bindings.choices import BindingStatus
from bindings.models import Binding, XNumber
from bindings.tests.factories import BindingFactory, XNumberFactory
from console.models import AuditLog
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing.factories import ApplicationFactory, PlatformCallFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.embedded]

A, B = "+8613800000001", "+8675528000001"
LIST = reverse("bindings:list")


@pytest.fixture
def binding() -> Binding:
    return BindingFactory(a_number=A, b_number=B, order_ref="SO-2024-0001")


def rows(response) -> list:
    """The records on the page of a console list."""
    assert response.status_code == 200
    return [row.record for row in response.context["table"].paginated_rows]


def found(client, term: str) -> list[int]:
    return [binding.pk for binding in rows(client.get(LIST, {"q": term}))]


# --- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["138 0000 0001", "+86-138-0000-0001", "8613800000001", "13800000001", "0755-2800 0001"],
)
def test_one_search_box_finds_a_binding_by_a_number_in_any_typed_form(staff, binding, typed):
    BindingFactory()  # another binding that must not be found
    assert found(staff, typed) == [binding.pk]


def test_the_search_box_finds_by_x_order_reference_and_subscription_id(staff, binding):
    BindingFactory()
    assert found(staff, binding.x_number) == [binding.pk]
    assert found(staff, "SO-2024-0001") == [binding.pk]
    assert found(staff, binding.subscription_id) == [binding.pk]
    assert found(staff, "0001") == []  # a fragment is not a number: no table scan


def test_the_number_search_is_an_exact_indexed_match(staff, binding):
    with CaptureQueriesContext(connection) as captured:
        found(staff, "138 0000 0001")
    searches = [q["sql"] for q in captured if '"bindings_binding"."a_number" =' in q["sql"]]
    assert searches
    assert not any("LIKE" in sql for sql in searches)


# --- masking and reveal ----------------------------------------------------------------------


def test_staff_see_masked_numbers_in_lists_search_results_and_pages(staff, binding):
    listing = staff.get(LIST, {"q": "13800000001"}).content.decode()
    page = staff.get(reverse("bindings:binding", args=[binding.pk])).content.decode()
    for html in (listing, page):
        assert "+86138****0001" in html
        assert A not in html
        assert B not in html
    assert "binding-reveal" not in page


def test_staff_may_not_reveal_a_number(staff, binding):
    url = reverse("bindings:reveal", args=[binding.pk])
    response = staff.post(url, {"party": "a_number"})
    assert response.status_code == 403
    assert not AuditLog.objects.filter(action="reveal").exists()


def test_an_administrator_reveals_a_number_by_an_audited_post(boss, binding):
    # given
    page = boss.get(reverse("bindings:binding", args=[binding.pk])).content.decode()
    assert A not in page
    assert "binding-reveal" in page
    url = reverse("bindings:reveal", args=[binding.pk])
    assert boss.get(url).status_code == 405
    # when
    response = boss.post(url, {"party": "a_number"}, REMOTE_ADDR="10.0.0.7")
    # then
    assert response.status_code == 200
    assert A in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    row = AuditLog.objects.get(action="reveal")
    assert (row.username, row.ip_address, row.target_id) == ("boss", "10.0.0.7", str(binding.pk))
    assert row.details == {"party": "a_number", "shown": "+86138****0001"}
    assert A not in str(row.details)


def test_revealing_something_that_is_not_a_number_of_the_binding_is_refused(boss, binding):
    url = reverse("bindings:reveal", args=[binding.pk])
    assert boss.post(url, {"party": "app_key"}).status_code == 404


# --- pages and query counts ------------------------------------------------------------------


def test_the_list_page_runs_a_fixed_number_of_queries_however_many_rows(staff):
    def queries(rows: int) -> int:
        Binding.objects.all().delete()
        BindingFactory.create_batch(rows)
        with CaptureQueriesContext(connection) as captured:
            assert staff.get(LIST).status_code == 200
        return len(captured)

    queries(3)  # the first page fills the shared cache (the user's permissions, the session)
    few, many = queries(3), queries(40)
    assert few == many
    assert many <= 12


def test_the_binding_page_runs_a_fixed_number_of_queries(boss, binding):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert boss.get(reverse("bindings:binding", args=[binding.pk])).status_code == 200
        return len(captured)

    # Warm the per-process caches first (content types, the recordings banner): a transactional
    # test run just before this one (the API's) leaves them cold.
    queries()
    before = queries()
    PlatformCallFactory.create_batch(5, application=binding.application, binding=binding)
    assert queries() == before


def test_the_list_page_never_counts_the_table(staff):
    BindingFactory.create_batch(3)
    for params in ({}, {"status": "active"}, {"q": "138 0000 0001"}):
        with CaptureQueriesContext(connection) as captured:
            assert staff.get(LIST, params).status_code == 200
        assert not [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]


def test_the_list_pages_newer_and_older_without_a_count(staff):
    BindingFactory.create_batch(51)
    first = staff.get(LIST)
    second = staff.get(LIST, {"page": "2"})
    assert len(rows(first)) == 50
    assert len(rows(second)) == 1
    assert "?page=2" in first.content.decode()


def test_the_list_sorts_by_id_and_status_and_never_by_a_real_number(boss):
    first, second = BindingFactory(a_number="+8613900000009"), BindingFactory(status="ended")

    def listed(sort: str) -> list[int]:
        return [b.pk for b in rows(boss.get(LIST, {"sort": sort}))]

    assert listed("id") == [first.pk, second.pk]
    assert listed("-id") == [second.pk, first.pk]
    assert listed("status") == [first.pk, second.pk]  # active, ended
    assert listed("-status") == [second.pk, first.pk]
    assert listed("a_number") == [second.pk, first.pk]  # no such sort: newest first


def test_the_list_filters_by_status_mode_and_application(staff):
    rides = ApplicationFactory(mode="AXB")
    ended = BindingFactory(application=rides, status="ended")
    other = BindingFactory(application=ApplicationFactory(mode="AX"))
    assert [b.pk for b in rows(staff.get(LIST, {"status": "ended"}))] == [ended.pk]
    assert [b.pk for b in rows(staff.get(LIST, {"mode": "AX"}))] == [other.pk]
    assert [b.pk for b in rows(staff.get(LIST, {"application": rides.pk}))] == [ended.pk]


def test_the_platform_call_list_renders_for_administrators_filtered_and_searched(boss, binding):
    PlatformCallFactory(application=binding.application, binding=binding, result_code="1012010")
    PlatformCallFactory(application=binding.application, interface="ax_query", result_code="0")
    PlatformCallFactory(application=binding.application, result_code="TIMEOUT", http_status=None)
    url = reverse("admin:console_platformcall_changelist")

    def listed(**params) -> list[str]:
        response = boss.get(url, params)
        assert response.status_code == 200
        return sorted(call.result_code for call in response.context["cl"].result_list)

    assert listed(outcome="refused") == ["1012010"]
    assert listed(outcome="no_answer") == ["TIMEOUT"]
    assert listed(outcome="ok", interface="ax_query") == ["0"]
    assert listed(q="1012010") == ["1012010"]
    assert listed(q=str(binding.pk)) == ["1012010"]
    with CaptureQueriesContext(connection) as captured:
        boss.get(url)
    assert not [q for q in captured if "DISTINCT" in q["sql"].upper()]


@pytest.mark.parametrize(
    "url",
    [
        reverse("bindings:numbers"),
        reverse("bindings:usage"),
        reverse("bindings:reconciliations"),
        reverse("bindings:imports"),
        reverse("admin:console_platformcall_changelist"),
        reverse("admin:bindings_xnumber_changelist"),
    ],
)
def test_staff_never_reach_pools_platform_calls_or_reconciliations(staff, url):
    assert staff.get(url).status_code == 403


def test_the_binding_page_shows_its_timeline(staff, binding):
    from console import audit

    PlatformCallFactory(application=binding.application, binding=binding, interface="axb_bind")
    audit.record("end", binding, details={})
    page = staff.get(reverse("bindings:binding", args=[binding.pk]))
    entries = page.context["timeline"]
    kinds = [entry.kind for entry in entries]
    assert {"lifecycle", "platform", "audit"} <= set(kinds)
    assert entries == sorted(entries, key=lambda e: e.at)
    assert "axb_bind" in page.content.decode()


# --- create ----------------------------------------------------------------------------------


def test_the_add_page_asks_for_the_application_first(staff):
    ApplicationFactory(mode="AXB", name="Rides")
    ApplicationFactory(mode="AX", name="Couriers")
    ApplicationFactory(mode="X", name="Legacy X")
    page = staff.get(reverse("bindings:add")).content.decode()
    assert "Rides" in page
    assert "Couriers" in page
    assert "Legacy X" not in page
    assert 'name="a_number"' not in page


@pytest.mark.parametrize(
    ("mode", "present", "absent"),
    [
        (
            "AXB",
            {"a_number", "b_number", "lifetime", "private_sms"},
            {"yb_lifetime", "callback_num"},
        ),
        ("AX", {"a_number", "lifetime", "private_sms"}, {"b_number", "callback_num"}),
        (
            "AXE",
            {"a_number", "lifetime", "callback_num", "display_num_mode"},
            {"b_number", "private_sms"},
        ),
        ("AXYB", {"a_number", "b_number", "lifetime", "yb_lifetime"}, {"private_sms"}),
    ],
)
def test_each_mode_has_its_own_form_with_only_its_fields(staff, mode, present, absent):
    application = ApplicationFactory(mode=mode)
    ApplicationFactory(mode="AXB")  # so that the page does not choose by itself
    page = staff.get(reverse("bindings:add"), {"application": application.pk})
    fields = set(page.context["form"].fields)
    assert present <= fields
    assert not (absent & fields)


def test_creating_from_the_page_chooses_x_and_opens_the_binding(
    staff, django_capture_on_commit_callbacks
):
    application = ApplicationFactory(mode="AXB")
    XNumberFactory(application=application, city_code="0755")
    url = reverse("bindings:add") + f"?application={application.pk}"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff.post(
            url, {"a_number": "138 0000 0001", "b_number": "139-0000-0002", "area_code": "0755"}
        )
    binding = Binding.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bindings:binding", args=[binding.pk])
    assert (binding.a_number, binding.status, binding.created_by.username) == (
        A,
        BindingStatus.PENDING,
        "kefu",
    )
    assert len(callbacks) == 1


def test_the_page_says_which_number_is_invalid_and_which_rule_refused(staff):
    application = ApplicationFactory(mode="AX")
    url = reverse("bindings:add") + f"?application={application.pk}"
    invalid = staff.post(url, {"a_number": "12345"}).content.decode()
    assert "12345" in invalid
    refused = staff.post(url, {"a_number": "13800000001", "area_code": "0755"})
    assert refused.status_code == 200
    assert "0755" in " ".join(refused.context["form"].errors["area_code"])
    assert not Binding.objects.exists()


# --- end, modify -----------------------------------------------------------------------------


def test_ending_a_binding_asks_first(staff, binding, django_capture_on_commit_callbacks):
    # given the binding's "End this binding", which opens the end page
    url = reverse("bindings:end", args=[binding.pk])
    change = staff.get(reverse("bindings:binding", args=[binding.pk]))
    assert f'href="{url}"' in change.content.decode()
    # when it is opened, or posted to without the confirmation
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        asked = staff.get(url)
        posted = staff.post(url)
    # then it asks, with the binding named and a way back, and nothing happens
    for page in (asked, posted):
        assert page.status_code == 200
        text = page.content.decode()
        assert 'name="confirmed" value="yes"' in text
        assert str(binding) in text
        assert reverse("bindings:binding", args=[binding.pk]) in text
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE
    assert callbacks == []


@pytest.mark.parametrize(
    ("url", "action", "model"),
    [("bindings:end-selected", "", "binding"), ("bindings:number-action", "retire", "xnumber")],
)
def test_the_destructive_list_actions_ask_first(boss, url, action, model):
    binding = BindingFactory()
    target = binding if model == "binding" else binding.x
    page = boss.post(reverse(url), {"action": action, "selected": [target.pk]})
    assert page.status_code == 200
    assert 'name="confirmed" value="yes"' in page.content.decode()
    assert f'name="selected" value="{target.pk}"' in page.content.decode()
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE
    assert binding.x.state != "retired"


def test_staff_end_a_binding_from_its_page(staff, binding, django_capture_on_commit_callbacks):
    url = reverse("bindings:end", args=[binding.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff.post(url, {"confirmed": "yes"})
    assert response.status_code == 302
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ENDING
    assert len(callbacks) == 1
    assert AuditLog.objects.get(action="end").username == "kefu"


def test_staff_end_selected_bindings_from_the_list(staff, django_capture_on_commit_callbacks):
    bindings = BindingFactory.create_batch(3)
    assert 'name="selected"' in staff.get(LIST).content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        staff.post(
            reverse("bindings:end-selected"),
            {"selected": [b.pk for b in bindings[:2]], "confirmed": "yes"},
        )
    statuses = sorted(Binding.objects.values_list("status", flat=True))
    assert statuses == ["active", "ending", "ending"]


def test_staff_cannot_change_a_binding_but_administrators_can(staff, binding, make_user, client):
    url = reverse("bindings:binding", args=[binding.pk])
    assert staff.post(url, {"duration": 1}).status_code == 403
    assert staff.get(url).context["form"] is None
    assert Binding.objects.get(pk=binding.pk).pending_changes == {}
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    page = client.get(url)
    assert "duration" in page.context["form"].fields
    assert "a_number" not in page.context["form"].fields
    form = page.context["form"]
    data = {name: form.initial.get(name) for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items() if v is not False}
    data.update(duration=120, order_ref="SO-NEW")  # minutes, as on every form
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    binding.refresh_from_db()
    assert binding.order_ref == "SO-NEW"
    assert binding.pending_changes == {"duration": 7200}
    assert AuditLog.objects.filter(action="modify", username="boss").exists()


def test_nobody_deletes_a_binding(boss, binding):
    from django.contrib import admin

    assert Binding not in admin.site._registry  # no admin page could, and no console page does
    assert boss.post(reverse("bindings:binding", args=[binding.pk]), {"delete": "1"}).status_code
    assert Binding.objects.filter(pk=binding.pk).exists()


# --- X numbers -------------------------------------------------------------------------------


def test_the_pool_list_finds_a_number_typed_in_any_form(boss):
    x = XNumberFactory(number="+8617012340001")
    XNumberFactory()
    response = boss.get(reverse("bindings:numbers"), {"q": "170 1234 0001"})
    assert [n.pk for n in rows(response)] == [x.pk]


def test_retiring_numbers_takes_them_out_of_the_pool_and_is_audited(boss):
    numbers = XNumberFactory.create_batch(2)
    boss.post(
        reverse("bindings:number-action"),
        {"action": "retire", "selected": [numbers[0].pk], "confirmed": "yes"},
    )
    assert list(XNumber.objects.values_list("state", flat=True).order_by("pk")) == [
        "retired",
        "available",
    ]
    assert AuditLog.objects.filter(action="modify", target_id=str(numbers[0].pk)).exists()


def test_timeline_rows_never_carry_a_full_number(staff, binding):
    from console import audit

    audit.record("reveal", binding, details={"party": "a_number", "shown": "+86138****0001"})
    page = staff.get(reverse("bindings:binding", args=[binding.pk])).content.decode()
    assert not re.search(r"\+86138\d{8}", page)


def test_an_administrator_changing_an_axe_binding_never_sees_its_callback_number(boss):
    axe = ApplicationFactory(mode="AXE")
    binding = BindingFactory(
        application=axe, b_number="", extension="0042", callback_num="+8613700000042"
    )
    page = boss.get(reverse("bindings:binding", args=[binding.pk]))
    assert "callback_num" not in page.context["form"].fields
    assert "+8613700000042" not in page.content.decode()
    assert "+86137****0042" in page.content.decode()


def test_reconciling_selected_numbers_queues_one_task_per_application(
    boss, django_capture_on_commit_callbacks
):
    first, second = ApplicationFactory(mode="AXB"), ApplicationFactory(mode="AX")
    numbers = [
        *XNumberFactory.create_batch(2, application=first),
        XNumberFactory(application=second),
    ]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        boss.post(
            reverse("bindings:number-action"),
            {"action": "reconcile", "selected": [n.pk for n in numbers]},
        )
    assert len(queued) == 2
    assert AuditLog.objects.filter(action="sync").count() == 2


@pytest.mark.parametrize("mode", ["AXB", "AX", "AXE", "AXYB"])
def test_every_mode_takes_its_lifetime_in_minutes_and_stores_seconds(staff, mode):
    # given the form of any mode, a lifetime of two hours typed in minutes
    application = ApplicationFactory(mode=mode)
    ApplicationFactory(mode="AXB")
    page = staff.get(reverse("bindings:add"), {"application": application.pk})
    form = page.context["form"]
    assert str(form.fields["lifetime"].label) == "绑定时长（分钟）"
    data = {"a_number": "138 0000 0001", "lifetime": "120"}
    if "b_number" in form.fields:
        data["b_number"] = "139 0000 0002"
    bound = type(form)(data, application=application)
    # then it is cleaned to the seconds the model and the services keep
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["duration"] == 7200
    assert "lifetime" not in bound.cleaned_data


def test_the_ax_form_offers_nothing_about_a_b_party(staff):
    application = ApplicationFactory(mode="AX")
    ApplicationFactory(mode="AXB")
    staff.cookies["django_language"] = "en"
    page = staff.get(reverse("bindings:add"), {"application": application.pk})
    text = page.content.decode()
    form = page.context["form"]
    labels = [str(field.label) for field in form.fields.values()]
    labels += [str(label) for _value, label in form.fields["call_direction"].choices]
    assert not [label for label in labels if " B" in label or label.endswith("B")], labels
    assert "Only A calls out through X" in text


def test_a_binding_page_shows_lifetimes_as_people_read_them(boss, make_user, client):
    # given an AX binding of two hours and an AXE one of ninety minutes
    ax = BindingFactory(application=ApplicationFactory(mode="AX"), duration=7200)
    axe = BindingFactory(application=ApplicationFactory(mode="AXE"), duration=5400)
    # then administrators change them in minutes
    page = boss.get(reverse("bindings:binding", args=[ax.pk])).content.decode()
    assert 'name="duration" value="120"' in page
    page = boss.get(reverse("bindings:binding", args=[axe.pk])).content.decode()
    assert 'name="duration" value="90"' in page
    # and customer service reads them as people say them
    client.force_login(make_user("reader", CUSTOMER_SERVICE))
    client.cookies["django_language"] = "en"
    page = client.get(reverse("bindings:binding", args=[axe.pk])).content.decode()
    assert "1 hour 30 minutes" in page
    assert "5400" not in page
