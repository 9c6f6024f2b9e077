"""The two roles of the console, as Django groups, and the helper migrations use to grant them.

Roles are created and extended by data migrations (never by hand in the admin) so that every
installation has exactly the same permissions: each app that adds models grants them to the roles
in a migration of its own, with :func:`grant`, naming every permission explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable

CUSTOMER_SERVICE = "客服 / Customer service"
NUMBER_ADMINISTRATOR = "号码管理员 / Number administrator"
ROLES = (CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR)

CRUD = ("add", "change", "delete", "view")


def model_permissions(app_label: str, models: Iterable[str], actions=CRUD) -> list[str]:
    """``["app.add_model", "app.change_model", ...]`` for each model and action."""
    return [f"{app_label}.{action}_{model}" for model in models for action in actions]


def ensure_permissions_exist(apps) -> None:
    """Create the permission rows of every migrated model now.

    Django creates permissions in ``post_migrate``, i.e. after *all* migrations; a data migration
    that grants them must create them first (the documented recipe).
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant(apps, role: str, permissions: Iterable[str]) -> None:
    """Give ``role`` each ``"app_label.codename"`` permission; fail loudly on an unknown one."""
    ensure_permissions_exist(apps)
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.get_or_create(name=role)
    for dotted in permissions:
        app_label, codename = dotted.split(".", 1)
        try:
            permission = permission_model.objects.get(
                content_type__app_label=app_label, codename=codename
            )
        except permission_model.DoesNotExist:
            raise LookupError(
                f"permission {dotted} does not exist; cannot grant it to {role}"
            ) from None
        group.permissions.add(permission)


def revoke(apps, role: str, permissions: Iterable[str]) -> None:
    """Reverse of :func:`grant`, for migrations that roll back."""
    group_model = apps.get_model("auth", "Group")
    group = group_model.objects.filter(name=role).first()
    if group is None:
        return
    for dotted in permissions:
        app_label, codename = dotted.split(".", 1)
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label=app_label, codename=codename)
        )
