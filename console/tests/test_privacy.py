"""No list is an oracle for a real number (issue 13, finding 1).

Every admin changelist and every console list is asked, with every lookup a query string can carry
(``__startswith``, ``__regex``, ``__gt``, ``__in``, ``__range``, … on every real-number field, its
relations included), with a search for part of a number, and sorted by every column, in two worlds
that differ only in the hidden digits of every real number (``+86138[1234]5678`` against
``+86138[8765]5678``: the same masked display). Each answer must be the same in both worlds: if an
answer depended on the hidden digits, someone who may not see them could read them one request at
a time (one full A number took 28 requests before). Exact lookups of a full number are the
console's search and are allowed; they are not probed here.
"""

from __future__ import annotations

import json
import re
from datetime import date

import django_filters
import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import models
from django.urls import reverse
from django.utils import timezone

from billing.models import CallEvent, SmsRecord, Statement
from billing.tests.factories import make_record
from bindings.models import Binding, Reconciliation
from bindings.tests.factories import BindingFactory
from console import audit, privacy
from console.choices import AuditAction
from console.models import Delivery
from console.roles import CUSTOMER_SERVICE
from console.testing.factories import ApplicationFactory, PlatformCallFactory
from recordings.tests.factories import make_recording

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Two of each: the second sorts after the first in one world and before it in the other.
A = ("+8613812345678", "+8613856785678")
B = ("+8613722223333", "+8613766663333")
LOOKUPS = {
    # lookup: the value, cut from the first A (hidden digits 1234)
    "startswith": "+8613812",
    "istartswith": "+8613812",
    "endswith": "345678",
    "iendswith": "345678",
    "contains": "381234",
    "icontains": "381234",
    "regex": r"^\+8613812",
    "iregex": r"^\+8613812",
    "gt": "+86138125",
    "gte": "+86138125",
    "lt": "+86138125",
    "lte": "+86138125",
    "range": "+8613812,+8613813",
    "in": f"{A[0]},+8613900000000",
    "iexact": A[0],
}
# Through a relation, a few lookups stand for all of them (the guard reads the path the same way
# whatever the lookup; the model's own fields get every lookup).
DEEP_LOOKUPS = ("startswith", "gt", "in")
SEARCHES = ["+8613812", "12345678"]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|"csrfToken": "[^"]+"')


def other_world(number: str) -> str:
    """The same number with its hidden digits (the four after the network code) mirrored.

    Real numbers here are +8613x mobiles; X numbers (+86170…) are privacy numbers, shown in full,
    and stay as they are (a callin's ``called`` is its X)."""
    digits = re.match(r"^(\+8613\d)(\d{4})(\d{4})$", number)
    if digits is None:
        return number
    head, hidden, tail = digits.groups()
    return head + "".join(str(9 - int(d)) for d in hidden) + tail


def other_text(text: str) -> str:
    return re.sub(r"\+86\d{11}", lambda found: other_world(found.group()), text)


def real_number_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if privacy.real_number_fields(model) or privacy.private_text_fields(model)
    ]


def switch_world() -> int:
    """Mirror the hidden digits of every real number stored (and of the private texts)."""
    changed = 0
    for model in real_number_models():
        numbers = privacy.real_number_fields(model)
        texts = privacy.private_text_fields(model)
        for row in model.objects.all():
            values = {name: other_world(getattr(row, name)) for name in numbers}
            for name in texts:
                value = getattr(row, name)
                if isinstance(value, (bytes, memoryview)):
                    values[name] = other_text(bytes(value).decode("latin-1")).encode("latin-1")
                elif isinstance(value, str):
                    values[name] = other_text(value)
                elif value is not None:
                    values[name] = json.loads(other_text(json.dumps(value)))
            changed += model.objects.filter(pk=row.pk).update(**values)
    return changed


@pytest.fixture(autouse=True)
def quiet_refusals():
    """Each refused lookup logs a traceback at ERROR (django.security): a thousand of them are
    most of this walk's time, and say nothing the assertions do not."""
    import logging

    loggers = [logging.getLogger(name) for name in ("django.security", "django.request")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def world(db):
    """Every kind of row that holds a real number, twice."""
    application = ApplicationFactory(name="Ride hailing")
    for a, b in zip(A, B, strict=True):
        binding = BindingFactory(
            application=application,
            a_number=a,
            b_number=b,
            temporary_callee=b,
            callback_num=a,
            order_ref=f"order-{a[-6:]}",
        )
        PlatformCallFactory(application=application, binding=binding, error=f"refused {a}")
        make_record(application, callerNum=a, fwdDstNum=b, subscriptionId=binding.subscription_id)
        CallEvent.objects.create(
            application=application,
            session_id=f"session-{A.index(a)}",
            event_type="callin",
            timestamp=timezone.now(),
            caller=a,
            called=binding.x_number,
        )
        SmsRecord.objects.create(
            application=application,
            sms_identifier=f"sms-{a[-8:]}",
            notification_mode="Notify",
            calling=a,
            called=b,
            forwarded_to=b,
            virtual_number=binding.x_number,
            event="smsNotify",
            content=f"parcel for {a}",
            time_stamp=timezone.now(),
        )
        Delivery.objects.create(
            application=application,
            endpoint="fee",
            kind="fee",
            state="failed",
            body=json.dumps({"callerNum": a}).encode(),
            size=20,
            digest=a[-8:].rjust(64, "0"),
            error=f"callerNum {a} is bad",
        )
        audit.record(AuditAction.CREATE, binding, details={"shown": a})
        Reconciliation.objects.create(application=application, details={"unknown": [{"a": a}]})
    make_recording(application)
    Statement.objects.create(application=application, month=date(2026, 10, 1))
    return application


def paths_to_private_fields(model, depth: int = 3, seen=()) -> list[str]:
    """Every lookup path from ``model`` to a real-number or private-text field: its own fields,
    and through relations (``call_record__caller_num``, ``bindings_as_x__a_number``)."""
    found = [*privacy.real_number_fields(model), *privacy.private_text_fields(model)]
    if depth == 0:
        return found
    for field in model._meta.get_fields():
        related = field.related_model
        if not field.is_relation or related is None or related in seen or related is model:
            continue
        if field.auto_created and seen:  # reverse relations only from the listed model itself
            continue
        found += [
            f"{field.name}__{path}"
            for path in paths_to_private_fields(related, depth - 1, (*seen, model))
        ]
    return found


def probes(client) -> list[str]:
    """Every admin changelist the user may open with every lookup on every path, its searches
    and sortings; the console's lists likewise."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        paths = paths_to_private_fields(model)
        if not paths and model._meta.app_label not in APPS:
            continue  # a third-party model that reaches no real number (users, schedules)
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        if client.get(url).status_code == 403:
            continue  # the same 403 whatever the query string
        for path in paths:
            deep = "__" in path
            urls += [
                f"{url}?{path}__{lookup}={value}"
                for lookup, value in LOOKUPS.items()
                if not deep or lookup in DEEP_LOOKUPS
            ]
        urls += [f"{url}?q={term}" for term in SEARCHES]
        # sorted by each column (descending tells nothing ascending does not)
        urls += [f"{url}?o={index}" for index in range(len(model_admin.list_display))]
    for url in (reverse("home"), reverse("billing:calls"), *BINDINGS_LISTS):
        urls += [f"{url}?q={term}" for term in SEARCHES]
    # the console's bindings lists: their real-number fields and relations, and their sortings
    bindings = reverse("bindings:list")
    urls += [
        f"{bindings}?{field}__{lookup}={value}"
        for field in Binding.REAL_NUMBER_FIELDS
        for lookup, value in LOOKUPS.items()
    ]
    urls += [f"{bindings}?{field}={A[0]}" for field in Binding.REAL_NUMBER_FIELDS]
    urls += [f"{bindings}?sort={column}" for column in ("a_number", "b_number", "id", "-status")]
    numbers = reverse("bindings:numbers")
    urls += [
        f"{numbers}?bindings_as_x__{field}__{lookup}={value}"
        for field in ("a_number", "b_number")
        for lookup, value in LOOKUPS.items()
    ]
    # and every binding's page (its lines, its timeline)
    urls += [
        reverse("bindings:binding", args=[pk])
        for pk in Binding.objects.values_list("pk", flat=True)
    ]
    calls = reverse("billing:calls")
    urls += [f"{calls}?sort={column}" for column in ("caller_num", "fwd_dst_num", "started_at")]
    urls += [f"{calls}?caller_num__{lookup}={value}" for lookup, value in LOOKUPS.items()]
    urls += [f"{calls}?x=+8613812", f"{reverse('billing:live_calls')}?sort=caller"]
    at_risk = reverse("recordings:at_risk")
    urls += [f"{at_risk}?risk-sort={column}" for column in ("caller", "callee")]
    urls += [f"{at_risk}?call_record__caller_num__startswith=+8613812"]
    return [url.replace("+", "%2B") for url in urls]


def answer(client, url: str) -> tuple[int, str]:
    response = client.get(url)
    body = response.content.decode() if response.status_code == 200 else ""
    return response.status_code, response.get("Location", "") + CSRF.sub("", body)


def user_with_every_permission_but_real_numbers(make_user):
    user = make_user("supervisor")
    user.user_permissions.set(Permission.objects.exclude(codename="view_real_numbers"))
    return user


@pytest.mark.parametrize("role", ["customer service", "every permission but real numbers"])
def test_no_answer_depends_on_the_hidden_digits_of_a_real_number(client, make_user, world, role):
    # given
    if role == "customer service":
        user = make_user("kefu", CUSTOMER_SERVICE)
    else:
        user = user_with_every_permission_but_real_numbers(make_user)
    client.force_login(user)
    urls = probes(client)
    assert len(urls) > (150 if role == "customer service" else 650), "the walk covers it all"
    # when every probe is asked in one world, then (unless refused: a refusal is decided from
    # the query string alone, before any row is read) in the other
    first = {url: answer(client, url) for url in urls}
    assert switch_world() > 10
    second = {url: answer(client, url) for url in urls if first[url][0] not in (400, 403)}
    # then no answer differs, and the lists themselves worked (they are no oracle by failing)
    assert [url for url in second if first[url] != second[url]] == []
    assert not [url for url, (status, _body) in first.items() if status >= 500]
    refused = [url for url, (status, _body) in first.items() if status == 400]
    assert any("a_number__startswith" in url for url in refused)
    if role != "customer service":
        assert any("call_record__caller_num__gt" in url for url in refused)
        assert any("content__icontains" in url for url in refused)


def test_the_walk_finds_an_oracle_when_the_guard_is_off(client, make_user, world, monkeypatch):
    """The test above can fail: without the guard a prefix lookup answers differently."""
    # given
    client.force_login(user_with_every_permission_but_real_numbers(make_user))
    monkeypatch.setattr(privacy, "lookup_allowed", lambda model, lookup: True)
    url = reverse("admin:billing_smsrecord_changelist") + "?calling__startswith=%2B8613812"
    # when
    before = answer(client, url)
    switch_world()
    after = answer(client, url)
    # then
    assert before[0] == after[0] == 200
    assert before != after


@pytest.mark.parametrize(
    ("lookup", "allowed"),
    [
        ("a_number", True),
        ("a_number__exact", True),
        ("a_number__startswith", False),
        ("a_number__in", False),
        ("a_number__iexact", False),
        ("b_number__regex", False),
        ("callback_num__gt", False),
        ("status__exact", True),
        ("application__id__exact", True),
        ("x__bindings_as_x__a_number__endswith", False),
    ],
)
def test_only_exact_lookups_of_a_real_number_pass(lookup, allowed):
    from bindings.models import Binding

    assert privacy.lookup_allowed(Binding, lookup) is allowed


def test_no_filterset_of_the_console_filters_a_real_number_but_exactly():
    """django-filter ignores parameters it does not declare; a declared filter on a real-number
    field must be exact (or a method, which the walk above probes)."""
    found = []
    for filterset in all_subclasses(django_filters.FilterSet):
        model = getattr(filterset._meta, "model", None)
        if model is None or filterset.__module__.split(".")[0] not in APPS:
            continue
        for name, declared in filterset.base_filters.items():
            path = f"{declared.field_name}__{declared.lookup_expr}"
            if declared.method is None and not privacy.lookup_allowed(model, path):
                found.append(f"{filterset.__name__}.{name}")
    assert found == []


APPS = {"console", "bindings", "billing", "recordings"}
BINDINGS_LISTS = [
    reverse("bindings:list"),
    reverse("bindings:numbers"),
    reverse("bindings:imports"),
    reverse("bindings:reconciliations"),
]


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def test_every_model_with_real_numbers_declares_them():
    """A phone-number column that no model declares would escape the rule: the names our
    models give them are all accounted for."""
    number_like = re.compile(r"(^|_)(num|number|caller|called|calling|callee|forwarded_to)($|_)")
    privacy_numbers = {  # X, Y and the number dialled are privacy numbers, shown in full
        "bindings.xnumber.number",
        "bindings.binding.x_number",
        "bindings.binding.y_number",
        "billing.callrecord.bind_num",
        "billing.callrecord.callee_num",
        "billing.callrecord.fwd_display_num",
        "billing.smsrecord.virtual_number",
        "recordings.recording.file_name",
        # not numbers at all: tone files and the extension dialled after X
        "bindings.binding.caller_hint_tone",
        "bindings.binding.callee_hint_tone",
        "billing.callrecord.extend_number",
        "bindings.binding.display_num_mode",
        "console.application.callee_num_display",
        # masked when written (console.access_requests): never a full number
        "console.accessrequest.number_masked",
    }
    undeclared = [
        f"{model._meta.label_lower}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label in APPS
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField)
        and number_like.search(field.name)
        and field.name not in privacy.real_number_fields(model)
        and f"{model._meta.label_lower}.{field.name}" not in privacy_numbers
    ]
    assert undeclared == []


def test_mirrored_worlds_look_the_same_masked():
    from console.numbers import mask

    for number in (*A, *B):
        assert mask(number) == mask(other_world(number))
        assert number != other_world(number)
    # the order of the two flips between the worlds, so sorting by a real number would show
    assert sorted(A) == list(A)
    assert sorted(A, key=other_world) == list(reversed(A))


def test_no_admin_filters_or_searches_a_real_number_by_django_s_defaults():
    """Django's filter of a field lists its values (full numbers, in the sidebar) and its search
    matches substrings: neither may touch a real number. Our admins search numbers exactly in
    their own get_search_results."""
    from django.contrib.admin import ModelAdmin

    found = []
    for model, model_admin in admin.site._registry.items():
        for item in model_admin.list_filter:
            name = item[0] if isinstance(item, (list, tuple)) else item
            if isinstance(name, str) and not privacy.lookup_allowed(model, f"{name}__gt"):
                found.append(f"{model.__name__}.list_filter {name}")
        default_search = type(model_admin).get_search_results is ModelAdmin.get_search_results
        for field in model_admin.search_fields if default_search else ():
            path = field.lstrip("^=@")
            if not privacy.lookup_allowed(model, f"{path}__gt"):
                found.append(f"{model.__name__}.search_fields {field}")
    assert found == []
