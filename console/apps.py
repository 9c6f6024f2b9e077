from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """Cross-cutting pieces: platform applications, audit log, push inbox, roles, health."""

    name = "console"
    verbose_name = _("Console")


class AxesConfig(AxesAppConfig):
    """django-axes under a name administrators understand, in their language (it ships no zh)."""

    verbose_name = _("Sign-in throttling")
