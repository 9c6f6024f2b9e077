from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShellConfig(AppConfig):
    """The top floor: the landing page, the navigation, the demo and its commands."""

    name = "shell"
    verbose_name = _("Console")

    def ready(self) -> None:
        from shell import navigation

        navigation.register()  # the console's menu, in the order people read it
