"""django-axes under a name administrators understand, in their language (it ships no zh).

A module of its own: Django picks an app's configuration class from its ``apps`` module only when
that module holds exactly one, and ``console.apps`` must keep resolving to ``ConsoleConfig``.
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    """django-axes with a translated name; everything else is axes' own."""

    verbose_name = _("Sign-in throttling")
