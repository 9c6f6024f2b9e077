"""The calls list's frame written in Python (``console.frame``) is the templates' markup.

The view renders ``billing/call_list_page.html`` inside ``console.frame.console_page``;
``billing/call_list.html`` is the same page in the templates' frame (``billing/base.html``,
``console/page.html``, ``admin/base_site.html``, ``admin/base.html``). Both are rendered for
every role, both languages, with and without messages, the recordings banner and the numbers
switch, and compared byte for byte (the CSRF token is masked afresh on every use).
"""

from __future__ import annotations

import re

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.template.response import TemplateResponse
from django.test import RequestFactory
from django.utils import translation
from django.utils.safestring import mark_safe

from billing.tests.factories import make_record
from billing.views import CallRecordListView, FramedResponse
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.django_db]

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def render(user, query: dict, language: str, *, framed: bool, with_messages: bool) -> str:
    request = RequestFactory().get("/calls/", query)
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    if with_messages:
        messages.warning(request, 'that <b>search</b> & "its" results')
        messages.success(request, mark_safe("<i>already safe</i>"))
        messages.info(request, "éclair first, lower case")
    kwargs = {} if framed else {"template_name": "billing/call_list.html"}
    view = CallRecordListView.as_view(
        response_class=FramedResponse if framed else TemplateResponse, **kwargs
    )
    with translation.override(language):
        response = view(request)
        response.render()
    assert response.status_code == 200
    return TOKEN.sub("TOKEN", response.content.decode())


@pytest.fixture
def calls():
    application = ApplicationFactory(name="Ride <hailing> & co", mode="AXB")
    for _ in range(3):
        make_record(application)
    return application


@pytest.fixture
def users(make_user, django_user_model):
    return {
        "customer service": make_user("kefu", CUSTOMER_SERVICE),
        "administrator": make_user("admin", NUMBER_ADMINISTRATOR, first_name='Ann <"A"> & B'),
        "superuser": django_user_model.objects.create_superuser("root", "root@example.com", "x"),
        "no usable password": make_user("sso", CUSTOMER_SERVICE),
    }


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(
    "role", ["customer service", "administrator", "superuser", "no usable password"]
)
@pytest.mark.parametrize(
    "query",
    [{}, {"reveal": "1"}, {"q": '<script>"x"&', "page": "2"}, {"outcome": "nonsense"}],
    ids=["first page", "revealed", "odd search", "invalid filter"],
)
@pytest.mark.parametrize("with_messages", [False, True], ids=["", "messages"])
def test_the_calls_list_is_the_templates_markup(calls, users, role, language, query, with_messages):
    user = users[role]
    if role == "no usable password":
        user.set_unusable_password()
        user.save()
    # when the page is rendered in the Python frame and in the templates'
    framed = render(user, query, language, framed=True, with_messages=with_messages)
    templated = render(user, query, language, framed=False, with_messages=with_messages)
    # then the two are the same, byte for byte
    assert framed == templated
    assert ("That &lt;b&gt;search" in framed) is with_messages


def test_the_recordings_banner_is_the_templates_markup(calls, users, monkeypatch):
    # given recordings at risk, shown to administrators (recordings.monitor_recordings)
    monkeypatch.setattr("recordings.services.banner_count", lambda: 3)
    user = users["administrator"]
    for language in ("zh-hans", "en"):
        framed = render(user, {}, language, framed=True, with_messages=True)
        assert "recordings-alert" in framed
        assert framed == render(user, {}, language, framed=False, with_messages=True)
