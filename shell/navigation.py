"""The console's menu (``console.navigation``): every app's pages, in the order people read them.

The admin's sidebar is switched off (``shell/urls.py``), so this is the one way round, and lists
keep the width of the screen.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from console import alerts, navigation
from console.navigation import Entry

MENU = (
    Entry(_("Console"), "home"),
    Entry(_("Bindings"), "bindings:list", "bindings.view_binding"),
    Entry(_("Calls"), "billing:calls", "billing.view_callrecord"),
    Entry(_("Calls in progress"), "billing:live_calls", "billing.view_callevent"),
    Entry(_("Dashboard"), "billing:dashboard", "billing.view_callrecord"),
    Entry(_("SMS"), "admin:billing_smsrecord_changelist", "billing.view_smsrecord"),
    Entry(_("Recordings"), "admin:recordings_recording_changelist", "recordings.view_recording"),
    Entry(_("Statements"), "billing:statements", "billing.view_statement"),
    Entry(_("Cost allocation"), "billing:allocation", "billing.view_statement"),
    Entry(_("Bill reconciliation"), "billing:reconciliations", "billing.view_billreconciliation"),
    Entry(_("Tariffs"), "admin:billing_tariff_changelist", "billing.view_tariff"),
    Entry(_("Packages"), "admin:billing_package_changelist", "billing.view_package"),
    # (billing's "X numbers" is the count of numbers on a statement, "X 号码数")
    Entry(
        pgettext_lazy("navigation", "X numbers"),
        "bindings:numbers",
        "bindings.view_xnumber",
    ),
    Entry(_("Pool usage"), "bindings:usage", "bindings.view_xnumber"),
    Entry(_("Worst numbers"), "billing:worst-numbers", "billing.view_numberhealth"),
    Entry(_("Tone files"), "bindings:voice-files", "bindings.view_voicefile"),
    Entry(
        _("Blacklist"), "admin:bindings_blacklistentry_changelist", "bindings.view_blacklistentry"
    ),
    Entry(
        _("A-number register"),
        "admin:bindings_anumberregistration_changelist",
        "bindings.view_anumberregistration",
    ),
    Entry(_("Applications"), "admin:console_application_changelist", "console.view_application"),
    Entry(
        _("Open alerts"),
        "admin:console_alert_changelist",
        "console.view_alert",
        badge=alerts.open_count_cached,
    ),
    Entry(
        _("Retention"), "admin:console_retentionpolicy_changelist", "console.view_retentionpolicy"
    ),
    Entry(_("Erasure request"), "erasure", "console.erase_personal_data"),
    Entry(_("Access requests"), "access_requests", "console.add_accessrequest"),
    Entry(_("Administration"), "admin:index"),
)


def register() -> None:
    """Called from ``ShellConfig.ready()``."""
    navigation.register(*MENU)
