"""Teams: staff limited to their applications, enforced once, in the querysets (issue 17).

A :class:`~console.models.Team` is granted applications; a user belongs to teams. While a request
is served, :class:`TeamScopeMiddleware` sets the applications its user may see (:func:`scope`):
``None`` (everything) for a superuser, for a user in no team (unless ``TEAMS_REQUIRED``), and
outside requests (workers, beat, the push receivers, commands); otherwise the union of the user's
teams' applications.

Every model that belongs to an application has :class:`ScopedManager` as its default manager
(``objects``; ``console/tests/test_teams.py`` fails on one that has not). Its querysets add
``application__in=<scope>`` whenever a scope is set: every page, list, search, export, dashboard
figure and admin built on ``Model.objects`` sees only the user's applications, with no code of
its own. Related objects are reached through Django's plain base manager, so a row of the user's
own leads only to what it is linked to. Raw SQL and caches shared between users must ask
:func:`scope` themselves (:func:`cache_suffix`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models import Q

_scope: ContextVar[frozenset[int] | None] = ContextVar("console_team_scope", default=None)


def scope() -> frozenset[int] | None:
    """The application ids the current request may see; None: all."""
    return _scope.get()


GENERATION_KEY = "console:teams:generation"
SESSION_KEY = "console_team_scope"


def _generation() -> str:
    """Changes whenever any team changes (:func:`changed`); sessions computed before recompute."""
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
        generation = cache.get(GENERATION_KEY) or ""
    return generation


def changed(**kwargs) -> None:
    """A team, its applications or its members changed: every session computes its scope again.

    Renewed at the change and once more when its transaction commits: a request that computed
    its scope from the rows as they were before the commit (after the first renewal) would
    otherwise keep that stale scope under the new generation until the next change.
    """
    _renew()
    transaction.on_commit(_renew)


def _renew() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


def _teams_of(user) -> list[int | None] | None:
    """The application ids of the user's teams (None where a team has none); None: no team."""
    from console.models import Team

    rows = list(Team.objects.filter(members=user).order_by().values_list("applications", flat=True))
    return rows or None


def _from_rows(rows: list[int | None] | None) -> frozenset[int] | None:
    if rows is None:  # in no team
        return frozenset() if settings.TEAMS_REQUIRED else None
    return frozenset(row for row in rows if row is not None)


def applications_of(user) -> frozenset[int] | None:
    """What ``user`` may see: None for all (superusers; users in no team unless TEAMS_REQUIRED)."""
    if user is None or not user.is_authenticated or user.is_superuser:
        return None
    return _from_rows(_teams_of(user))


def applications_of_request(request) -> frozenset[int] | None:
    """:func:`applications_of` the request's user, kept in the session until a team changes (no
    query per request: the session is read anyway)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_superuser:
        return None
    session = getattr(request, "session", None)
    generation = _generation()
    stored = session.get(SESSION_KEY) if session is not None else None
    if not stored or stored.get("generation") != generation or stored.get("user") != user.pk:
        stored = {"generation": generation, "user": user.pk, "rows": _teams_of(user)}
        if session is not None:
            session[SESSION_KEY] = stored
    return _from_rows(stored["rows"])


def remember_at_login(sender, request, user, **kwargs) -> None:
    """``user_logged_in``: the scope goes into the new session with it."""
    if request is not None and hasattr(request, "session"):
        request.user = user
        applications_of_request(request)


@contextmanager
def scoped(ids: frozenset[int] | None) -> Iterator[None]:
    """Run a block as a user who sees ``ids`` (the middleware's doing, for API keys and tests)."""
    token = _scope.set(None if ids is None else frozenset(ids))
    try:
        yield
    finally:
        _scope.reset(token)


def cache_suffix() -> str:
    """A cache key's suffix for figures computed under the current scope ("" when unscoped)."""
    ids = scope()
    return "" if ids is None else "@" + ",".join(str(i) for i in sorted(ids))


class TeamScopeMiddleware:
    """Sets the request user's scope for the whole request (after authentication)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with scoped(applications_of_request(request)):
            return self.get_response(request)


class ScopedQuerySet(models.QuerySet):
    """A queryset that knows its model's path to the application and the scope it carries.

    A queryset built outside any request (a form field's or a filter's choices, declared on the
    class at import) carries no scope; :meth:`all`, which Django calls on it for every form and
    DRF for every request, adds the current one. So choices are limited too.
    """

    scope_path = "application"
    shared_when_null = False
    scoped_to: frozenset[int] | None = None

    def _clone(self):
        clone = super()._clone()
        clone.scope_path = self.scope_path
        clone.shared_when_null = self.shared_when_null
        clone.scoped_to = self.scoped_to
        return clone

    def limited(self, ids: frozenset[int] | None) -> ScopedQuerySet:
        """This queryset limited to the applications ``ids`` (None: as it is)."""
        if ids is None or ids == self.scoped_to:
            return self
        condition = Q(**{f"{self.scope_path}__in": ids})
        if self.shared_when_null:
            condition |= Q(**{f"{self.scope_path}__isnull": True})
        limited = self.filter(condition)
        limited.scoped_to = ids
        return limited

    def all(self) -> ScopedQuerySet:
        return super().all().limited(scope())


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):
    """The default manager of a model that belongs to an application.

    ``path`` leads from the model to the application's id (``"application"``, or ``"pk"`` for
    the Application itself); ``shared_when_null``: rows without an application (an alert about a
    worker) are seen by everybody.
    """

    def __init__(self, path: str = "application", *, shared_when_null: bool = False) -> None:
        super().__init__()
        self.path = path
        self.shared_when_null = shared_when_null

    def get_queryset(self) -> ScopedQuerySet:
        queryset = super().get_queryset()
        queryset.scope_path = self.path
        queryset.shared_when_null = self.shared_when_null
        return queryset.limited(scope())


class ApplicationManager(ScopedManager):
    """The Application's own: its id is the scope (a class of its own because Django builds the
    managers of relations to a model from its default manager's class, with no arguments)."""

    def __init__(self, path: str = "pk", **kwargs) -> None:
        super().__init__(path, **kwargs)


def connect() -> None:
    """Called from ``ConsoleConfig.ready()``: team changes and logins keep scopes current."""
    from django.contrib.auth.signals import user_logged_in
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from console.models import Team

    user_logged_in.connect(remember_at_login, dispatch_uid="console.teams.login")
    for signal, sender in (
        (m2m_changed, Team.members.through),
        (m2m_changed, Team.applications.through),
        (post_save, Team),
        (post_delete, Team),
    ):
        signal.connect(
            changed, sender=sender, dispatch_uid=f"console.teams.{id(sender)}.{id(signal)}"
        )


class ManyApplicationsManager(models.Manager):
    """The default manager of a model granted several applications (an API key): a team sees
    one only when every application it is granted is the team's."""

    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()
        ids = scope()
        if ids is None:
            return queryset
        from console.models import Application

        others = Application._base_manager.exclude(pk__in=ids).values("pk")
        return queryset.exclude(applications__in=others)
