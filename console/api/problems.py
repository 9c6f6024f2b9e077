"""Every API error as an RFC 9457 problem detail (``application/problem+json``).

``type`` is a stable URN per kind of problem, ``title`` and ``detail`` are in the language the
client asked for (``Accept-Language``), ``errors`` lists field errors (``field``, ``message``,
``code``). A refusal of the console or the platform carries its rule or platform code, and the
platform code's meaning in zh-hans and en (:class:`Problem`).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:pnc:problem:"


class ProblemJSONRenderer(JSONRenderer):
    """Lets a client that asks only for ``application/problem+json`` get its errors."""

    media_type = CONTENT_TYPE


class Problem(exceptions.APIException):
    """A refusal with a kind (``code``), a title and anything more the client may read."""

    def __init__(
        self,
        detail: str,
        *,
        code: str,
        title: str | None = None,
        status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY,
        **extra: Any,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.title = title
        self.extra = extra


def _errors(data: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flatten DRF's error structure into ``[{field, message, code}]``."""
    found: list[dict[str, str]] = []
    if isinstance(data, dict):
        for name, value in data.items():
            field = name if name != "non_field_errors" else ""
            found.extend(
                _errors(value, f"{prefix}.{field}" if prefix and field else field or prefix)
            )
    elif isinstance(data, list):
        for item in data:
            found.extend(_errors(item, prefix))
    else:
        found.append(
            {"field": prefix, "message": str(data), "code": getattr(data, "code", "invalid")}
        )
    return found


def problem_response(
    status_code: int,
    code: str,
    title: str,
    detail: str = "",
    *,
    instance: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {
        "type": TYPE_PREFIX + code,
        "title": title,
        "status": status_code,
        "detail": detail or title,
        "instance": instance,
        "code": code,
        **extra,
    }
    return Response(body, status=status_code, headers=headers, content_type=CONTENT_TYPE)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, answered as a problem detail."""
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500
    headers = {
        name: value
        for name, value in response.items()
        if name.lower() in ("retry-after", "www-authenticate", "allow")
    }
    if isinstance(exc, Problem):
        return problem_response(
            exc.status_code,
            str(exc.get_codes()),
            str(exc.title or exc.detail),
            str(exc.detail),
            instance=instance,
            headers=headers,
            **exc.extra,
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = _errors(response.data)
        return problem_response(
            response.status_code,
            "validation",
            _("The request is not valid."),
            "; ".join(
                f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
            ),
            instance=instance,
            errors=errors,
        )
    if isinstance(exc, exceptions.Throttled):
        title = _("Too many requests for this API key.")
        detail = _("Try again in %(seconds)s seconds.") % {"seconds": exc.wait or 1}
        return problem_response(
            response.status_code, "throttled", title, detail, instance=instance, headers=headers
        )
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    code = codes if isinstance(codes, str) else "error"
    return problem_response(
        response.status_code, code, str(detail), str(detail), instance=instance, headers=headers
    )
