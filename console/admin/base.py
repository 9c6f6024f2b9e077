"""What every admin of the console inherits: no query string probes a real number, read-only
admins, list filters with a default."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from console import privacy


def https_url_fields(field, **kwargs):
    """Form fields for model fields; URLs typed without a scheme are taken as https."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class ConsoleModelAdmin(admin.ModelAdmin):
    """Every admin of the console: no query string probes a real number (``console.privacy``).

    Django's admin accepts a lookup on any field of the model in the query string
    (``?a_number__startswith=+86138``); on a masked field that is a yes/no oracle for its hidden
    digits. Only exact lookups of a real-number field pass, for every role. ``?reveal=1`` is read
    by ``console.privacy.numbers_for`` and then taken out of the query the changelist sees.
    """

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if not privacy.lookup_allowed(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def changelist_view(self, request, extra_context=None):
        privacy.without_reveal(request)
        return super().changelist_view(request, extra_context)


class ReadOnlyAdmin(ConsoleModelAdmin):
    """An admin that shows rows and never adds, changes or deletes one (records, logs, inboxes)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class DefaultedListFilter(admin.SimpleListFilter):
    """A list filter with a value chosen when none is: ``default`` is shown selected (there is no
    "All" of Django's own; a subclass offers one among its lookups if it wants)."""

    default = ""

    def choices(self, changelist):
        current = self.value() or self.default
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }
