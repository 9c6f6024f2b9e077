"""The bindings API: create (idempotent, may wait for X), modify, end, get, list; and the pool
(usage per city with its forecast, the X numbers), read only.

Every verb goes through the services the pages use (``bindings.services``) and is audited under
the key's name (``api:<name>``). A create is validated by the mode's create form
(:func:`bindings.forms.form_for_mode`), then made by :func:`~bindings.services.create_binding`
in one transaction with its idempotency keys (``Idempotency-Key`` header, order reference): a
retried or concurrent duplicate hits their unique constraint and answers the first binding.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.forms import modelform_factory
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bindings import forecast, modes, services
from bindings.api.serializers import (
    BindingCreateSerializer,
    BindingModifySerializer,
    BindingSerializer,
    PoolSerializer,
    XNumberSerializer,
)
from bindings.choices import BindingStatus, NumberState, PlatformNumberStatus
from bindings.forms import BindingModifyForm, LifetimeField, OptionalBooleanField, form_for_mode
from bindings.models import Binding, XNumber
from console import sql, teams
from console.api.pagination import NewestFirst
from console.api.params import filtered, integer
from console.api.permissions import applications_of
from console.api.problems import Problem
from console.choices import ApiScope
from console.gateway import result_meaning
from console.models import IdempotencyKey
from console.numbers import InvalidNumber, normalize

READ, WRITE = ApiScope.BINDINGS_READ.value, ApiScope.BINDINGS_WRITE.value
PROBLEM = OpenApiResponse(description="A problem detail (RFC 9457, application/problem+json)")
NUMBER_FILTERS = ("a_number", "b_number")  # real numbers: looked up by their exact value only


def _form_errors(form) -> Problem:
    errors = [
        {
            "field": name if name != "__all__" else "",
            "message": str(e.message % (e.params or {})) if e.params else str(e.message),
            "code": e.code or "invalid",
        }
        for name, field_errors in form.errors.as_data().items()
        for error in field_errors
        for e in error.error_list
    ]
    return Problem(
        "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors),
        code="validation",
        title=_("The request is not valid."),
        status_code=status.HTTP_400_BAD_REQUEST,
        errors=errors,
    )


def _refused(refusal: services.BindingRefused) -> Problem:
    return Problem(
        refusal.message,
        code="refused",
        title=_("The console refused this request."),
        rule=refusal.rule,
        errors=[{"field": refusal.field or "", "message": refusal.message, "code": refusal.rule}],
    )


def _platform_refused(binding: Binding, body: dict[str, Any]) -> Problem:
    code = binding.last_result_code
    return Problem(
        _("The platform refused the binding: %(code)s %(meaning)s")
        % {"code": code, "meaning": result_meaning(code, "en")},
        code="platform_refused",
        title=_("The platform refused the binding."),
        platform_code=code,
        meaning={"zh-hans": result_meaning(code, "zh-hans"), "en": result_meaning(code, "en")},
        binding=body,
    )


def request_fingerprint(application, cleaned: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a validated create (the form's cleaned data, so "138 0000
    0001" and "+8613800000001" are the same request; ``?wait`` is no part of it)."""
    canonical = json.dumps(
        {"application": application.pk, **cleaned},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _reused(claim: IdempotencyKey) -> Problem:
    """The same ``Idempotency-Key`` (or order reference) sent with another request than the one
    that made its binding: refused, nothing made (draft-ietf-httpapi-idempotency-key-header)."""
    binding_id = int(claim.object_id)
    if claim.kind == "order_ref":
        return Problem(
            _(
                "The order reference %(order_ref)s already made binding %(binding)s with other "
                "fields; change that binding (PATCH) or use another order reference."
            )
            % {"order_ref": claim.value, "binding": binding_id},
            code="order_ref_reused",
            title=_("This order reference was used for another request."),
            order_ref=claim.value,
            binding=binding_id,
        )
    return Problem(
        _(
            "The Idempotency-Key %(key)s was already used for another request (binding "
            "%(binding)s); send a new key for a new request."
        )
        % {"key": claim.value, "binding": binding_id},
        code="idempotency_key_reused",
        title=_("This Idempotency-Key was used for another request."),
        idempotency_key=claim.value,
        binding=binding_id,
    )


class BindingQueryMixin:
    """Bindings of the key's applications only (another application's is a 404)."""

    request: Request

    def bindings(self):
        return Binding.objects.filter(application__in=applications_of(self.request)).order_by()


@extend_schema(tags=["bindings"])
class BindingListView(BindingQueryMixin, generics.ListAPIView):
    """List bindings, newest first, a cursor page at a time; create one (POST)."""

    serializer_class = BindingSerializer
    pagination_class = NewestFirst
    scopes = {"GET": READ, "POST": WRITE}

    def get_queryset(self):
        return filtered(
            self.bindings(),
            self.request.query_params,
            ids=("application",),
            exact=("status", "mode", "order_ref", "x_number", "subscription_id"),
            numbers=NUMBER_FILTERS,
            period=("created_at", "created_after", "created_before"),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=BindingStatus.values),
            OpenApiParameter("mode", enum=list(modes.NAMES)),
            OpenApiParameter("application", int),
            OpenApiParameter("order_ref", str),
            OpenApiParameter("x_number", str),
            OpenApiParameter("subscription_id", str),
            OpenApiParameter("a_number", str, description="Exact number only (any form)."),
            OpenApiParameter("b_number", str, description="Exact number only (any form)."),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=BindingCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="A retried request with the same key never makes a second binding.",
            ),
            OpenApiParameter(
                "wait",
                float,
                description=f"Seconds to wait for the platform (at most "
                f"{settings.API_CREATE_MAX_WAIT:g}).",
            ),
        ],
        responses={
            201: BindingSerializer,
            202: BindingSerializer,
            400: PROBLEM,
            403: PROBLEM,
            422: PROBLEM,
            429: PROBLEM,
        },
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        """Create a binding: 201 with X once active, 202 with its status URL while pending."""
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise Problem(
                _("Send a JSON object."),
                code="validation",
                title=_("The request is not valid."),
                status_code=400,
            )
        application = (
            applications_of(request).filter(pk=data.get("application")).first()
            if str(data.get("application", "")).isdigit()
            else None
        )
        if application is None:
            raise Problem(
                _("Name one of this key's applications by its id."),
                code="validation",
                title=_("The request is not valid."),
                status_code=400,
                errors=[
                    {
                        "field": "application",
                        "message": _("Unknown application."),
                        "code": "invalid",
                    }
                ],
            )
        if not modes.has_bindings(application.mode):
            raise _refused(
                services.BindingRefused(
                    _("X-mode applications have no bindings: the console decides each call."),
                    rule="mode_x",
                )
            )
        form_class = form_for_mode(application.mode)
        fields = {k: v for k, v in data.items() if k in form_class.base_fields and v is not None}
        for name, field in form_class.base_fields.items():
            if isinstance(field, OptionalBooleanField):
                fields.setdefault(name, "")  # missing: the mode's default, as in a bulk CSV
        form = form_class(data=fields, application=application, city_choices=False)
        if not form.is_valid():
            raise _form_errors(form)
        binding, replayed = self._create(request, application, form.cleaned_data)
        return self._answer(request, binding, replayed)

    def _create(self, request, application, cleaned) -> tuple[Binding, bool]:
        keys = []
        header = (request.headers.get("Idempotency-Key") or "").strip()[:255]
        if header:
            keys.append(("header", header))
        if cleaned.get("order_ref"):
            keys.append(("order_ref", cleaned["order_ref"]))
        fingerprint = request_fingerprint(application, cleaned)
        try:
            with transaction.atomic():
                # The unique constraint decides: a duplicate waits for the first transaction
                # (PostgreSQL) and then fails here; nothing is read before it is written.
                claims = [
                    sql.insert(  # IdempotencyKey.objects.create(...), one prepared statement
                        IdempotencyKey(
                            application=application, kind=kind, value=value, fingerprint=fingerprint
                        )
                    )
                    for kind, value in keys
                ]
                binding = services.create_binding(
                    application, cleaned, user=request.user, request=request
                )
                IdempotencyKey.objects.filter(pk__in=[c.pk for c in claims]).update(
                    object_id=str(binding.pk)
                )
        except services.BindingRefused as refusal:
            raise _refused(refusal) from None
        except IntegrityError:
            match = Q()
            for kind, value in keys:
                match |= Q(kind=kind, value=value)
            found = {
                claim.kind: claim
                for claim in IdempotencyKey.objects.filter(match, application=application).exclude(
                    object_id=""
                )
            }
            if not found:
                raise
            for kind, _value in keys:
                claim = found.get(kind)
                if claim is not None and claim.fingerprint and claim.fingerprint != fingerprint:
                    raise _reused(claim) from None
            claim = found.get("header") or found["order_ref"]
            return Binding.objects.get(pk=int(claim.object_id)), True
        return binding, False

    def _answer(self, request: Request, binding: Binding, replayed: bool) -> Response:
        try:
            wait = float(request.query_params.get("wait", settings.API_CREATE_DEFAULT_WAIT))
        except ValueError:
            wait = 0.0
        wait = max(0.0, min(wait, settings.API_CREATE_MAX_WAIT))
        deadline = time.monotonic() + wait
        while binding.status == BindingStatus.PENDING and time.monotonic() < deadline:
            time.sleep(0.05)
            binding.refresh_from_db(fields=["status"])
        binding.refresh_from_db()
        body = BindingSerializer(binding, context={"request": request}).data
        headers = {"Location": body["url"]}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        if binding.status == BindingStatus.FAILED:
            raise _platform_refused(binding, body)
        done = binding.status != BindingStatus.PENDING
        return Response(
            body,
            status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED,
            headers=headers,
        )


@extend_schema(tags=["bindings"])
class BindingDetailView(BindingQueryMixin, APIView):
    """One binding: read it, change it (PATCH)."""

    scopes = {"GET": READ, "PATCH": WRITE}
    serializer_class = BindingSerializer

    def get_binding(self, pk: int) -> Binding:
        return get_object_or_404(self.bindings().select_related("application"), pk=pk)

    @extend_schema(responses={200: BindingSerializer, 404: PROBLEM})
    def get(self, request: Request, pk: int) -> Response:
        # The answer's own columns only, and no application row.
        binding = get_object_or_404(self.bindings().only(*BindingSerializer.COLUMNS), pk=pk)
        return Response(BindingSerializer(binding, context={"request": request}).data)

    @extend_schema(
        request=BindingModifySerializer,
        responses={200: BindingSerializer, 400: PROBLEM, 404: PROBLEM, 422: PROBLEM},
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Change an active binding: the console's fields at once, the platform's by a task."""
        binding = self.get_binding(pk)
        data = request.data if isinstance(request.data, dict) else {}
        mode = modes.of(binding.mode)
        fields = [
            name for name in data if name in mode.changeable and name not in services.REVEALABLE
        ]
        unknown = sorted(set(data) - set(fields))
        if unknown or not fields:
            raise Problem(
                _("%(mode)s bindings cannot change: %(fields)s.")
                % {"mode": binding.mode, "fields": ", ".join(unknown) or "—"},
                code="validation",
                title=_("The request is not valid."),
                status_code=400,
                errors=[
                    {"field": name, "message": _("Cannot be changed."), "code": "invalid"}
                    for name in unknown
                ],
            )
        form_class = modelform_factory(
            Binding, form=BindingModifyForm, fields=fields, formfield_callback=_form_field
        )
        form = form_class(data, instance=Binding.objects.get(pk=binding.pk))
        if not form.is_valid():
            raise _form_errors(form)
        changes = {name: form.cleaned_data[name] for name in fields}
        try:
            binding = services.modify_binding(binding, changes, user=request.user, request=request)
        except services.BindingRefused as refusal:
            raise _refused(refusal) from None
        return Response(BindingSerializer(binding, context={"request": request}).data)


def _form_field(db_field, **kwargs):
    if db_field.name == "duration":  # minutes, as on the create forms
        return LifetimeField()
    return db_field.formfield(**kwargs)


@extend_schema(tags=["bindings"])
class BindingEndView(BindingQueryMixin, APIView):
    """End an active binding: 202, it is ``ending`` until the platform confirms (webhook)."""

    scopes = {"POST": WRITE}

    @extend_schema(request=None, responses={202: BindingSerializer, 404: PROBLEM, 422: PROBLEM})
    def post(self, request: Request, pk: int) -> Response:
        binding = get_object_or_404(self.bindings(), pk=pk)
        try:
            binding = services.end_binding(binding, user=request.user, request=request)
        except services.BindingRefused as refusal:
            raise _refused(refusal) from None
        body = BindingSerializer(binding, context={"request": request}).data
        return Response(
            body,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("api:binding-detail", args=[binding.pk])},
        )


# --- The pool: usage per city, the X numbers --------------------------------------------------

NUMBERS_READ = ApiScope.NUMBERS_READ.value


@extend_schema(tags=["numbers"])
class PoolListView(APIView):
    """Each pool of the key's applications (per application and city), as the pool usage page
    shows it: numbers by state, resting and blocked ones, live bindings against the capacity the
    console enforces, and the forecast (days left, numbers to order; ``bindings.forecast``)."""

    scopes = {"GET": NUMBERS_READ}
    serializer_class = PoolSerializer

    @extend_schema(
        parameters=[OpenApiParameter("application", int), OpenApiParameter("city_code", str)],
        responses={200: PoolSerializer(many=True), 400: PROBLEM, 403: PROBLEM},
    )
    def get(self, request: Request) -> Response:
        ids = frozenset(applications_of(request).values_list("pk", flat=True))
        query = request.query_params
        if query.get("application"):
            ids &= {integer(query["application"], "application")}
        rows = []
        if ids:
            with teams.scoped(ids):  # every query of the forecast sees these applications only
                rows = forecast.forecasts()
        if query.get("city_code"):
            rows = [row for row in rows if row["city_code"] == query["city_code"]]
        return Response(PoolSerializer(rows, many=True).data)


class NumbersMixin:
    scopes = {"GET": NUMBERS_READ}
    serializer_class = XNumberSerializer
    request: Request

    def numbers(self):
        return XNumber.objects.filter(application__in=applications_of(self.request)).order_by()


@extend_schema(tags=["numbers"])
class XNumberListView(NumbersMixin, generics.ListAPIView):
    """The X numbers of the key's applications, newest first, a cursor page at a time."""

    pagination_class = NewestFirst

    def get_queryset(self):
        queryset = self.numbers()
        query = self.request.query_params
        if query.get("application"):
            queryset = queryset.filter(application=integer(query["application"], "application"))
        for name in ("city_code", "province", "state", "platform_status"):
            if query.get(name):
                queryset = queryset.filter(**{name: query[name]})
        if query.get("number"):  # any written form of it
            try:
                queryset = queryset.filter(number=normalize(query["number"]))
            except InvalidNumber:
                queryset = queryset.none()
        resting = query.get("resting", "").lower()
        if resting in ("true", "false"):
            now_resting = Q(resting_until__gt=timezone.now())
            queryset = (
                queryset.filter(now_resting) if resting == "true" else queryset.exclude(now_resting)
            )
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("application", int),
            OpenApiParameter("city_code", str),
            OpenApiParameter("province", str),
            OpenApiParameter("state", enum=NumberState.values),
            OpenApiParameter("platform_status", enum=PlatformNumberStatus.values),
            OpenApiParameter("number", str, description="Exact number (any form)."),
            OpenApiParameter("resting", bool, description="Rested by the health guard now."),
        ],
        responses={200: XNumberSerializer(many=True), 400: PROBLEM, 403: PROBLEM},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["numbers"], responses={200: XNumberSerializer, 404: PROBLEM})
class XNumberDetailView(NumbersMixin, generics.RetrieveAPIView):
    """One X number."""

    def get_queryset(self):
        return self.numbers()
