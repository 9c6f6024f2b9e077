"""Teams: a user of one team finds nothing of another team's applications, on any URL (issue 17).

The rule lives in one place (``console.teams.ScopedManager``, the default manager of every model
that belongs to an application); this walks every page the URL configuration has, as a member
of another team, and looks for the first team's marks: its application's name, a binding's order
reference, an X number of its pool, a recording's file."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from billing.tests.factories import make_record
from bindings.choices import BindingStatus
from bindings.models import Binding, XNumber
from bindings.tests.factories import BindingFactory, XNumberFactory
from console import teams
from console.choices import AlertKind
from console.models import Alert, Application, Team
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing.factories import ApplicationFactory, PlatformCallFactory
from recordings.tests.factories import make_stored_recording

pytestmark = [pytest.mark.postgres, pytest.mark.embedded, pytest.mark.django_db]

ALPHA = "ALPHA-TEAM-APP"
MARKS = (ALPHA, "ALPHA-ORDER-7", "17011112222")
SKIPPED = re.compile(r"logout|password|i18n|jsi18n|hooks|healthz|download|stream|/api/")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    settings.RECORDINGS_STORAGE_BACKEND = "django.core.files.storage.FileSystemStorage"


@pytest.fixture
def alpha():
    """Team Alpha's application with something in every list."""
    application = ApplicationFactory(name=ALPHA, mode="AXB", recording_enabled=True)
    x = XNumberFactory(application=application, number="+8617011112222")
    binding = BindingFactory(
        application=application,
        order_ref="ALPHA-ORDER-7",
        x_number=x.number,
        status=BindingStatus.ACTIVE,
    )
    make_record(application, bindNum=x.number, subscriptionId=binding.subscription_id or "")
    make_stored_recording(application)
    PlatformCallFactory(application=application, binding=binding)
    Alert.objects.create(application=application, kind=AlertKind.PACKAGE_LOW, key="a", title=ALPHA)
    Team.objects.create(name="Alpha").applications.add(application)
    return application


@pytest.fixture
def beta_user(make_user):
    """A number administrator of team Beta, which has an application of its own."""
    beta = ApplicationFactory(name="BETA-TEAM-APP")
    user = make_user("beta-boss", NUMBER_ADMINISTRATOR)
    team = Team.objects.create(name="Beta")
    team.applications.add(beta)
    team.members.add(user)
    return user


def _names(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(n for n in (namespace, entry.namespace or "") if n)
            yield from _names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace, entry.name


def every_page() -> list[str]:
    """Every URL of the configuration that takes no argument (GET-able lists and pages)."""
    urls = []
    for namespace, name in _names(get_resolver().url_patterns):
        try:
            url = reverse(f"{namespace}:{name}" if namespace else name)
        except NoReverseMatch:
            continue  # takes arguments: the object pages are walked below
        if not SKIPPED.search(url):
            urls.append(url)
    return sorted(set(urls))


def object_pages(application: Application) -> list[str]:
    """The admin page of every row of ``application`` in every registered model, and its
    console pages."""
    urls = []
    for model in admin.site._registry:
        field_names = {f.name for f in model._meta.get_fields()}
        if "application" not in field_names:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        for pk in model._base_manager.filter(application=application).values_list("pk", flat=True):
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[pk]))
    urls.append(reverse("admin:console_application_change", args=[application.pk]))
    for binding in Binding._base_manager.filter(application=application):
        urls.append(reverse("bindings:binding", args=[binding.pk]))
    return urls


def test_every_model_of_an_application_has_the_scoped_manager():
    missing = [
        model._meta.label
        for model in apps.get_models()
        if any(
            getattr(field, "related_model", None) is Application and field.name == "application"
            for field in model._meta.get_fields()
        )
        and not isinstance(model._default_manager, teams.ScopedManager)
    ]
    assert missing == []
    assert isinstance(Application._default_manager, teams.ScopedManager)


def walk(client) -> tuple[dict[str, list[str]], int]:
    """The marks found on each page, and how many pages answered 200."""
    seen, shown = {}, 0
    for url in every_page():
        response = client.get(url)
        assert response.status_code in (200, 302, 403, 404, 405), url
        body = response.content.decode(errors="replace") if response.status_code == 200 else ""
        shown += response.status_code == 200
        found = [mark for mark in MARKS if mark in body]
        if found:
            seen[url] = found
    return seen, shown


def test_a_member_of_another_team_finds_nothing_of_alpha_on_any_page(client, alpha, beta_user):
    client.force_login(beta_user)
    seen, shown = walk(client)
    assert shown > 30  # the walk opens the whole console
    assert seen == {}
    for url in object_pages(alpha):
        assert client.get(url).status_code in (302, 403, 404), url


def test_the_same_walk_finds_alpha_everywhere_without_teams(client, alpha, beta_user):
    # the walk can fail: with Beta's member out of every team (unrestricted), the marks show
    Team.objects.get(name="Beta").members.remove(beta_user)
    client.force_login(beta_user)
    seen, _shown = walk(client)
    assert len(seen) >= 8
    assert {mark for found in seen.values() for mark in found} == set(MARKS)


def test_the_walk_would_see_alpha_as_its_own_team(client, alpha, make_user):
    # the same walk as a member of Alpha finds the marks: the test above can fail
    user = make_user("alpha-boss", NUMBER_ADMINISTRATOR)
    Team.objects.get(name="Alpha").members.add(user)
    client.force_login(user)
    bodies = "".join(
        client.get(url).content.decode(errors="replace")
        for url in (reverse("bindings:list"), reverse("bindings:numbers"), reverse("billing:calls"))
    )
    assert all(mark in bodies for mark in MARKS)
    assert (
        client.get(reverse("bindings:binding", args=[Binding.objects.get().pk])).status_code == 200
    )


def test_figures_and_choices_are_the_teams_own(client, alpha, beta_user):
    client.force_login(beta_user)
    with teams.scoped(teams.applications_of(beta_user)):
        assert list(Application.objects.values_list("name", flat=True)) == ["BETA-TEAM-APP"]
        assert XNumber.objects.count() == 0
        assert Binding.objects.count() == 0
        # a queryset declared outside any request (a form's choices) is limited when used
    from bindings.forms import XNumberImportForm

    with teams.scoped(teams.applications_of(beta_user)):
        choices = [label for _value, label in XNumberImportForm().fields["application"].choices]
    assert ALPHA not in " ".join(str(c) for c in choices)


def test_customer_service_of_another_team_cannot_open_alphas_binding(client, alpha, make_user):
    user = make_user("beta-kefu", CUSTOMER_SERVICE)
    Team.objects.create(name="Beta CS").members.add(user)  # a team with no application yet
    client.force_login(user)
    binding = Binding.objects.get()
    assert client.get(reverse("bindings:binding", args=[binding.pk])).status_code == 404
    assert ALPHA not in client.get(reverse("bindings:list")).content.decode()


def test_superusers_and_users_in_no_team_see_everything_unless_teams_are_required(
    alpha, make_user, django_user_model, settings
):
    loner = make_user("loner", CUSTOMER_SERVICE)
    root = django_user_model.objects.create_superuser("root", password="x-Long-pass-1")
    assert teams.applications_of(root) is None
    assert teams.applications_of(loner) is None
    settings.TEAMS_REQUIRED = True
    assert teams.applications_of(loner) == frozenset()
    with teams.scoped(teams.applications_of(loner)):
        assert Application.objects.count() == 0


def test_a_team_change_applies_to_signed_in_users_at_their_next_request(client, alpha, beta_user):
    client.force_login(beta_user)
    bindings = reverse("bindings:list")
    assert "ALPHA-ORDER-7" not in client.get(bindings).content.decode()
    Team.objects.get(name="Beta").applications.add(alpha)  # no new sign-in
    assert "ALPHA-ORDER-7" in client.get(bindings).content.decode()
    Team.objects.get(name="Beta").applications.remove(alpha)
    assert "ALPHA-ORDER-7" not in client.get(bindings).content.decode()


def test_the_audit_log_shows_a_team_its_applications_rows_and_the_console_wide_ones(
    client, alpha, beta_user
):
    from console import audit
    from console.choices import AuditAction
    from console.models import AuditLog

    beta = Application.objects.get(name="BETA-TEAM-APP")
    audit.record(AuditAction.MODIFY, alpha, label="")
    audit.record(AuditAction.MODIFY, Binding.objects.get())  # a binding of Alpha's
    audit.record(AuditAction.MODIFY, beta)
    audit.record(AuditAction.EXPORT, AuditLog, label="console-wide")
    with teams.scoped(teams.applications_of(beta_user)):
        seen = set(AuditLog.objects.values_list("application_id", flat=True))
    assert seen == {beta.pk, None}
    client.force_login(beta_user)
    page = client.get(reverse("admin:console_auditlog_changelist")).content.decode()
    assert ALPHA not in page
    assert "BETA-TEAM-APP" in page


def test_a_team_sees_and_revokes_only_the_api_keys_of_its_own_applications(
    client, alpha, beta_user
):
    from console import apikeys
    from console.models import ApiKey

    beta = Application.objects.get(name="BETA-TEAM-APP")
    keys = {}
    for name, granted in (("alpha-key", [alpha]), ("beta-key", [beta]), ("both", [alpha, beta])):
        key = ApiKey(name=name, scopes=["bindings:read"])
        apikeys.set_token(key)
        key.save()
        key.applications.set(granted)
        keys[name] = key
    with teams.scoped(teams.applications_of(beta_user)):
        assert list(ApiKey.objects.values_list("name", flat=True)) == ["beta-key"]
    client.force_login(beta_user)
    page = client.get(reverse("admin:console_apikey_changelist")).content.decode()
    assert "beta-key" in page
    assert "alpha-key" not in page
    other = reverse("admin:console_apikey_change", args=[keys["both"].pk])
    assert client.get(other).status_code in (302, 404)


def test_a_team_change_renews_the_scopes_generation_again_when_it_commits(
    alpha, django_capture_on_commit_callbacks
):
    # given a change inside a transaction (a request may compute a scope from the old rows
    # between the change and its commit)
    team = Team.objects.create(name="Gamma")
    with django_capture_on_commit_callbacks(execute=True):
        team.applications.add(alpha)
        during = teams._generation()
    # then the commit renewed the generation once more: a scope computed in between is stale
    assert teams._generation() != during
