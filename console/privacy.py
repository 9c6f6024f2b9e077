"""Who may see a real number, and the one place that enforces it.

Real numbers are the customers' own: A and B of a binding, a caller, the party a call was
forwarded to, an SMS sender or receiver (X and Y are privacy numbers and are shown in full). The
rule, for every page, filter, search, log, export and API:

* **Shown** masked (``console.numbers.mask``), always, to everybody (an API key too, unless
  it holds the ``numbers:real`` scope: :func:`numbers_for_api`, audited the same way). A user
  whose role holds ``console.view_real_numbers`` (administrators, by data migration; never
  customer service) sees them in full only on asking for it: ``?reveal=1`` on a page that shows
  numbers (:class:`Numbers`), or a binding's "show the full number" button. Every page view
  that shows a full number writes one audit row (not one per row): who, when, from where,
  which page.
* **Looked up** only by their exact value: a query string may filter a real-number field with
  ``field=`` / ``field__exact=`` (a person searching for a number they already know) and nothing
  else; prefix, suffix, substring, regex, range, comparison and ``__in`` lookups could tell the
  hidden digits one request at a time and are refused, for every role (:func:`lookup_allowed`,
  used by every admin of the console). Text that may carry numbers (an SMS's content, a push's
  raw body) accepts no lookup at all. No list sorts by a real number.
* **Logged** masked: ``console.numbers.mask_text`` / ``mask_url`` (the access log of gunicorn,
  ``console.gunicorn``; the console's own log lines).

Models declare their fields: ``REAL_NUMBER_FIELDS`` (exact lookups allowed) and
``PRIVATE_TEXT_FIELDS`` (no lookup). ``console/tests/test_privacy.py`` walks every list with every
lookup on every declared field and checks that no answer depends on the hidden digits.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import QueryDict

from console.numbers import mask, mask_query

PERMISSION = "console.view_real_numbers"
# ``?reveal=1``: an allowed user asks this page view to show full numbers (audited).
REVEAL_PARAMETER = "reveal"
_EXACT = ((), ("exact",))


def may_see_real_numbers(user) -> bool:
    """The role decides: only holders of ``console.view_real_numbers`` ever see a full number."""
    return bool(user is not None and user.is_active and user.has_perm(PERMISSION))


def real_number_fields(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(getattr(model, "REAL_NUMBER_FIELDS", ()))


def private_text_fields(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(getattr(model, "PRIVATE_TEXT_FIELDS", ()))


def lookup_allowed(model: type[models.Model], lookup: str) -> bool:
    """False for a query-string lookup that could tell anything about a real number other than
    whether it equals a number typed in full, following relations (``call_record__caller_num``).
    """
    parts = lookup.split("__")
    current = model
    for index, part in enumerate(parts):
        if part in private_text_fields(current):
            return False
        if part in real_number_fields(current):
            return tuple(parts[index + 1 :]) in _EXACT
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return True  # not a field: Django refuses it or ignores it on its own
        if not field.is_relation or field.related_model is None:
            return True
        current = field.related_model
    return True


class Numbers:
    """How one request shows real numbers: masked, or in full for an allowed user who asked.

    One per request (:func:`numbers_for`). The first full number shown writes the page view's
    audit row; the rest of the page writes nothing more.
    """

    def __init__(self, request) -> None:
        self.request = request
        self.allowed = may_see_real_numbers(getattr(request, "user", None))
        self.revealed = self.allowed and request.GET.get(REVEAL_PARAMETER) == "1"
        self.audited = False
        # The page's own query, without the reveal switch (the toggle links are built from it).
        query = request.GET.copy()
        query.pop(REVEAL_PARAMETER, None)
        self.query: QueryDict = query

    def show(self, number: str | None) -> str:
        """``number`` as this viewer may see it on this page view."""
        if not number:
            return ""
        if not self.revealed:
            return mask(number)
        if not self.audited:
            self._audit()
        return number

    def show_text(self, text: str | None) -> str:
        """Text that may carry numbers (an SMS's content): shown only when revealed, else empty."""
        if not text or not self.revealed:
            return ""
        if not self.audited:
            self._audit()
        return text

    def _audit(self) -> None:
        from console import audit
        from console.choices import AuditAction

        self.audited = True
        audit.record(
            AuditAction.REVEAL,
            None,
            request=self.request,
            details={"page": self.request.path, "query": mask_query(self.query.urlencode())},
        )

    @property
    def reveal_url(self) -> str:
        query = self.query.copy()
        query[REVEAL_PARAMETER] = "1"
        return f"?{query.urlencode()}"

    @property
    def hide_url(self) -> str:
        return f"?{self.query.urlencode()}" if self.query else "?"


class ApiNumbers(Numbers):
    """The same rule for an API request: a key holding ``numbers:real`` sees full numbers (each
    request that shows one writes one audit row under the key's name); any other key, masked."""

    def __init__(self, request) -> None:
        from console.choices import ApiScope

        key = getattr(request, "auth", None)
        self.request = request
        self.allowed = bool(key is not None and key.has_scope(ApiScope.NUMBERS_REAL))
        self.revealed = self.allowed
        self.audited = False
        self.query = request.GET.copy()


def numbers_for_api(request) -> Numbers:
    """The API request's :class:`ApiNumbers` (one per request, so one audit row per request)."""
    numbers = getattr(request, "_console_numbers", None)
    if numbers is None:
        numbers = ApiNumbers(request)
        request._console_numbers = numbers
    return numbers


def numbers_for(request) -> Numbers:
    """The request's :class:`Numbers` (one per request, so one audit row per page view)."""
    numbers = getattr(request, "_console_numbers", None)
    if numbers is None:
        numbers = Numbers(request)
        request._console_numbers = numbers
    return numbers


def without_reveal(request) -> None:
    """Take ``reveal`` out of ``request.GET`` once :func:`numbers_for` has read it (the admin's
    changelist treats every parameter it does not know as a lookup)."""
    if REVEAL_PARAMETER in request.GET:
        numbers_for(request)
        query = request.GET.copy()
        query.pop(REVEAL_PARAMETER)
        request.GET = query
