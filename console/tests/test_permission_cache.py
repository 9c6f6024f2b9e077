"""Permissions kept in the shared cache between requests (console/permission_cache.py), and
sessions read through it: a revoked role stops on the very next request.

Each test of a change first has the page served once, so the permissions are in the cache; the
change must then reach the next request. Without the invalidation these fail (the cached set
still grants, or still refuses).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from console import permission_cache
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing import KNOWN_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PAGE = "/calls/"  # needs billing.view_callrecord (customer service has it)


def permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def permission_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "auth_permission" in q["sql"]]


@pytest.fixture
def kefu(client, make_user):
    user = make_user("kefu", CUSTOMER_SERVICE)
    client.force_login(user)
    assert client.get(PAGE).status_code == 200  # the permissions are now in the cache
    return user


def test_the_second_page_reads_no_permission_and_no_session_row(client, kefu):
    # given a page already served (permissions and session in the cache)
    # when the page is asked again
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    # then neither the permissions nor the session come from the database
    assert permission_queries(queries.captured_queries) == []
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]


def test_a_role_taken_away_stops_at_the_next_request(client, kefu):
    # when the user leaves the role
    kefu.groups.remove(Group.objects.get(name=CUSTOMER_SERVICE))
    # then the page is refused at once
    assert client.get(PAGE).status_code == 403


def test_a_permission_taken_from_the_role_stops_at_the_next_request(client, kefu):
    Group.objects.get(name=CUSTOMER_SERVICE).permissions.remove(
        permission("billing.view_callrecord")
    )
    assert client.get(PAGE).status_code == 403


def test_the_roles_permissions_cleared_stop_at_the_next_request(client, kefu):
    Group.objects.get(name=CUSTOMER_SERVICE).permissions.clear()
    assert client.get(PAGE).status_code == 403


def test_every_role_cleared_from_the_user_stops_at_the_next_request(client, kefu):
    kefu.groups.clear()
    assert client.get(PAGE).status_code == 403


def test_the_role_deleted_stops_at_the_next_request(client, kefu):
    # the rows linking the user and the group go by cascade, without m2m_changed
    Group.objects.get(name=CUSTOMER_SERVICE).delete()
    assert client.get(PAGE).status_code == 403


def test_the_permission_deleted_stops_at_the_next_request(client, kefu):
    permission("billing.view_callrecord").delete()
    assert client.get(PAGE).status_code == 403


def test_the_user_removed_from_the_roles_side_stops_at_the_next_request(client, kefu):
    Group.objects.get(name=CUSTOMER_SERVICE).user_set.remove(kefu)
    assert client.get(PAGE).status_code == 403


def test_a_permission_given_is_seen_at_the_next_request(client, make_user):
    # given a staff user without a role, refused (and that refusal cached)
    user = make_user("nobody")
    client.force_login(user)
    assert client.get(PAGE).status_code == 403
    # when given the permission directly, or a role
    user.user_permissions.add(permission("billing.view_callrecord"))
    # then the next request sees it
    assert client.get(PAGE).status_code == 200


def test_a_role_given_is_seen_at_the_next_request(client, make_user):
    user = make_user("nobody")
    client.force_login(user)
    assert client.get(PAGE).status_code == 403
    user.groups.add(Group.objects.get(name=NUMBER_ADMINISTRATOR))
    assert client.get(PAGE).status_code == 200


def test_superuser_status_taken_away_is_seen_at_the_next_request(client, make_user):
    # given a superuser in no role, whose permissions (all of them) were cached
    user = make_user("root", is_superuser=True)
    client.force_login(user)
    assert client.get(PAGE).status_code == 200
    # when no longer a superuser (the entry records what it was computed for)
    user.is_superuser = False
    user.save()
    # then the next request has none of the permissions
    assert client.get(PAGE).status_code == 403


def test_a_deactivated_user_is_signed_out_at_the_next_request(client, kefu):
    kefu.is_active = False
    kefu.save()
    assert client.get(PAGE).status_code == 302


def test_the_generation_is_renewed_again_when_the_change_commits(
    kefu, django_capture_on_commit_callbacks
):
    # given a change inside a transaction (a request between it and the commit could store
    # the rows it read before the change under the new generation)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        kefu.groups.remove(Group.objects.get(name=CUSTOMER_SERVICE))
    renewed = cache.get(permission_cache.generation_key())
    # when it commits
    for callback in callbacks:
        callback()
    # then the generation changes once more
    assert cache.get(permission_cache.generation_key()) != renewed


def test_an_entry_of_another_generation_is_not_used(kefu, django_user_model):
    # given the entry stored, then the generation renewed (any change)
    permission_cache.renew()
    user = django_user_model.objects.get(pk=kefu.pk)
    # when the permissions are asked
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("billing.view_callrecord")
    # then they are read from the database again
    assert len(permission_queries(queries.captured_queries)) == 2


def test_nothing_is_kept_in_a_cache_other_processes_do_not_see(kefu, django_user_model, settings):
    # given a per-process cache (Django's memory cache under several workers)
    settings.CACHE_SHARED = False
    user = django_user_model.objects.get(pk=kefu.pk)
    # then the permissions are read from the database, as without the cache
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("billing.view_callrecord")
    assert len(permission_queries(queries.captured_queries)) == 2


def test_an_unreachable_cache_reads_the_database(kefu, django_user_model, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", down)
    user = django_user_model.objects.get(pk=kefu.pk)
    assert user.has_perm("billing.view_callrecord")
    assert not user.has_perm("console.view_real_numbers")


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(client, kefu):
    # given the session cookie copied to a second browser
    other = Client()
    other.cookies["sessionid"] = client.cookies["sessionid"].value
    assert other.get(PAGE).status_code == 200
    # when the first signs out
    client.post("/admin/logout/")
    # then the copy is signed out too (the cached session went with the row)
    assert other.get(PAGE).status_code == 302


def test_a_password_changed_elsewhere_signs_the_session_out(client, kefu):
    kefu.set_password(KNOWN_PASSWORD + " changed")
    kefu.save()
    assert client.get(PAGE).status_code == 302
