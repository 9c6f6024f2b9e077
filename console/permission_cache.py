"""A signed-in user's permissions kept between requests in the shared cache (issue 19).

Django's ``ModelBackend`` reads a user's permissions with two queries (the user's own, the
groups') and keeps them on the user object for that request only: every page paid for them
again, a tenth of the calls list's CPU. :class:`PermissionCacheBackend`, listed just before
``ModelBackend`` in ``AUTHENTICATION_BACKENDS``, never authenticates and never grants anything:
when a permission is first checked in a request it fills ``ModelBackend``'s per-request
attributes (``_user_perm_cache``, ``_group_perm_cache``) from the shared cache, so
``ModelBackend`` answers without a query. A miss reads them with ``ModelBackend``'s own queries
and stores them.

Correctness rests on one **generation** in the shared cache: every change that could change
anybody's permissions (a user's groups or own permissions, a group's permissions, a group, a
permission or a content type saved or deleted, a user deleted, a migration run) replaces it, and
an entry stored under another generation is never used. The change is seen by the next request
on every worker; the generation is replaced once at the change and once more when its
transaction commits, so a request that read the old rows in between cannot leave them behind.
``is_active`` and ``is_superuser`` are read from the user row each request as before (the entry
records the ``is_superuser`` it was computed for). Entries also expire after
``PERMISSIONS_CACHE_SECONDS`` in case something changes the tables behind Django's back (raw
SQL).

Only a cache shared by every process is trusted (``CACHE_SHARED`` in the settings): with
Django's per-process memory cache or the dummy cache the backend does nothing. When the cache
cannot be reached, the permissions are read from the database as before.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

_model_backend = ModelBackend()


def _prefix() -> str:
    """Keys of this database's users only, should two consoles share one cache."""
    name = str(settings.DATABASES["default"]["NAME"])
    return "console:perms:" + hashlib.sha256(name.encode()).hexdigest()[:12]


def generation_key() -> str:
    return _prefix() + ":generation"


def user_key(pk) -> str:
    return f"{_prefix()}:user:{pk}"


def enabled() -> bool:
    """True when entries may be kept: a lifetime is set and the cache is shared by every process
    (``CACHE_SHARED`` in the settings)."""
    return settings.PERMISSIONS_CACHE_SECONDS > 0 and settings.CACHE_SHARED


def renew() -> None:
    """A new generation: every entry stored before stops counting."""
    try:
        cache.set(generation_key(), uuid.uuid4().hex, None)
    except Exception:  # the cache is down: nothing can be read from it either
        logger.exception("could not renew the permissions' cache generation")


def forget_all(**kwargs) -> None:
    """Every entry stops counting: now, and again when the current transaction commits."""
    if str(kwargs.get("action", "post_")).startswith("pre_"):
        return  # m2m_changed: its post_ signal follows
    renew()
    transaction.on_commit(renew)


def _current_generation(found: dict) -> str:
    generation = found.get(generation_key())
    if generation is None:
        cache.add(generation_key(), uuid.uuid4().hex, None)
        generation = cache.get(generation_key())
    return generation or ""


def prime(user) -> None:
    """Fill ``ModelBackend``'s per-request permission sets of ``user`` from the shared cache,
    or read them from the database and store them there."""
    if getattr(user, "_perm_cache_primed", False):
        return
    if user is None or not getattr(user, "is_active", False) or user.is_anonymous:
        return
    if user.pk is None or (
        hasattr(user, "_user_perm_cache") and hasattr(user, "_group_perm_cache")
    ):
        return
    user._perm_cache_primed = True  # one look-up per user object (i.e. per request)
    if not enabled():
        return
    key = user_key(user.pk)
    try:
        found = cache.get_many([generation_key(), key])
        generation = _current_generation(found)
    except Exception:
        logger.exception("the permissions' cache could not be read; reading the database")
        return
    entry = found.get(key)
    if entry is not None and entry[0] == generation and entry[1] == user.is_superuser:
        user._user_perm_cache = set(entry[2])
        user._group_perm_cache = set(entry[3])
        return
    own = _model_backend.get_user_permissions(user)  # ModelBackend's two queries
    groups = _model_backend.get_group_permissions(user)
    try:
        cache.set(
            key,
            (generation, user.is_superuser, sorted(own), sorted(groups)),
            settings.PERMISSIONS_CACHE_SECONDS,
        )
    except Exception:
        logger.exception("the permissions' cache could not be written")


class PermissionCacheBackend:
    """Authenticates nobody and grants nothing: primes ``ModelBackend``, which comes next.

    No ``get_user`` (and so not a ``BaseBackend``): a session never names this backend, and
    Django's test client picks the first backend that has one for ``force_login``.
    """

    def authenticate(self, request, **credentials):
        return None

    def get_user_permissions(self, user_obj, obj=None):
        if obj is None:
            prime(user_obj)
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        if obj is None:
            prime(user_obj)
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        if obj is None:
            prime(user_obj)
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        if obj is None:
            prime(user_obj)
        return False

    def has_module_perms(self, user_obj, app_label):
        prime(user_obj)
        return False


def connect() -> None:
    """Called from ``ConsoleConfig.ready()``: any change to who holds which permission renews the
    generation."""
    from django.contrib.auth.models import Group, Permission, User
    from django.contrib.contenttypes.models import ContentType
    from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

    for signal, sender in (
        (m2m_changed, User.groups.through),
        (m2m_changed, User.user_permissions.through),
        (m2m_changed, Group.permissions.through),
        (post_save, Group),
        (post_delete, Group),
        (post_save, Permission),
        (post_delete, Permission),
        (post_save, ContentType),
        (post_delete, ContentType),
        (post_delete, User),
    ):
        signal.connect(
            forget_all, sender=sender, dispatch_uid=f"console.perms.{id(sender)}.{id(signal)}"
        )
    # Data migrations grant permissions through historical models, whose signals name other
    # senders: after any migration nothing cached before counts.
    post_migrate.connect(forget_all, dispatch_uid="console.perms.migrate")
