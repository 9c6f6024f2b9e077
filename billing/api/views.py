"""Calls (CDRs), SMS records and statements of the key's applications: newest first, by cursor,
with filters."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics

from billing.api.serializers import (
    CallSerializer,
    SmsSerializer,
    StatementDetailSerializer,
    StatementSerializer,
)
from billing.choices import CallOutcome, SmsDecision, StatementState
from billing.models import CallRecord, SmsRecord, Statement
from console.api.pagination import NewestFirst
from console.api.params import filtered, integer
from console.api.permissions import applications_of
from console.api.problems import Problem
from console.choices import ApiScope

PROBLEM = OpenApiResponse(description="A problem detail (RFC 9457, application/problem+json)")


class CallsMixin:
    scopes = {"GET": ApiScope.CALLS_READ.value}
    serializer_class = CallSerializer

    def calls(self):
        return CallRecord.objects.filter(application__in=applications_of(self.request)).order_by()


@extend_schema(tags=["calls"])
class CallListView(CallsMixin, generics.ListAPIView):
    """Calls newest first (by id), a cursor page at a time."""

    pagination_class = NewestFirst

    def get_queryset(self):
        return filtered(
            self.calls(),
            self.request.query_params,
            ids=("binding", "application"),
            exact=("subscription_id", "outcome"),
            numbers=("caller_num",),
            period=("started_at", "started_after", "started_before"),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("binding", int),
            OpenApiParameter("application", int),
            OpenApiParameter("subscription_id", str),
            OpenApiParameter("outcome", enum=CallOutcome.values),
            OpenApiParameter("caller_num", str, description="Exact number only (any form)."),
            OpenApiParameter("started_after", OpenApiTypes.DATETIME),
            OpenApiParameter("started_before", OpenApiTypes.DATETIME),
        ],
        responses={200: CallSerializer(many=True), 400: PROBLEM, 403: PROBLEM},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["calls"], responses={200: CallSerializer, 404: PROBLEM})
class CallDetailView(CallsMixin, generics.RetrieveAPIView):
    """One call."""

    def get_queryset(self):
        return self.calls()


class SmsMixin:
    scopes = {"GET": ApiScope.CALLS_READ.value}
    serializer_class = SmsSerializer

    def messages(self):
        return SmsRecord.objects.filter(application__in=applications_of(self.request)).order_by()


@extend_schema(tags=["sms"])
class SmsListView(SmsMixin, generics.ListAPIView):
    """SMS records newest first (by id), a cursor page at a time."""

    pagination_class = NewestFirst

    def get_queryset(self):
        return filtered(
            self.messages(),
            self.request.query_params,
            ids=("binding", "application"),
            exact=("subscription_id", "decision", "notification_mode", "virtual_number"),
            numbers=("calling", "called"),
            period=("time_stamp", "after", "before"),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("binding", int),
            OpenApiParameter("application", int),
            OpenApiParameter("subscription_id", str),
            OpenApiParameter("decision", enum=[v for v in SmsDecision.values if v]),
            OpenApiParameter("notification_mode", enum=["Notify", "Block"]),
            OpenApiParameter("calling", str, description="Exact number only (any form)."),
            OpenApiParameter("called", str, description="Exact number only (any form)."),
            OpenApiParameter("virtual_number", str),
            OpenApiParameter("after", OpenApiTypes.DATETIME, description="Sent at or after."),
            OpenApiParameter("before", OpenApiTypes.DATETIME, description="Sent before."),
        ],
        responses={200: SmsSerializer(many=True), 400: PROBLEM, 403: PROBLEM},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["sms"], responses={200: SmsSerializer, 404: PROBLEM})
class SmsDetailView(SmsMixin, generics.RetrieveAPIView):
    """One SMS record."""

    def get_queryset(self):
        return self.messages()


def _month(value: str) -> date:
    try:
        year, month = value.split("-")[:2]
        return date(int(year), int(month), 1)
    except ValueError:
        raise Problem(
            _("month is not a month like 2026-03."),
            code="validation",
            title=_("The request is not valid."),
            status_code=400,
            errors=[{"field": "month", "message": _("Not a month."), "code": "invalid"}],
        ) from None


class StatementsMixin:
    scopes = {"GET": ApiScope.STATEMENTS_READ.value}
    serializer_class = StatementSerializer

    def statements(self):
        return (
            Statement.objects.filter(application__in=applications_of(self.request))
            .select_related("tariff")
            .order_by()
        )


@extend_schema(tags=["statements"])
class StatementListView(StatementsMixin, generics.ListAPIView):
    """Monthly statements, newest first (by id), a cursor page at a time."""

    pagination_class = NewestFirst

    def get_queryset(self):
        queryset = self.statements()
        query = self.request.query_params
        if query.get("application"):
            queryset = queryset.filter(application=integer(query["application"], "application"))
        if query.get("state"):
            queryset = queryset.filter(state=query["state"])
        if query.get("month"):
            queryset = queryset.filter(month=_month(query["month"]))
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("application", int),
            OpenApiParameter("state", enum=StatementState.values),
            OpenApiParameter("month", str, description="A month, YYYY-MM (Beijing time)."),
        ],
        responses={200: StatementSerializer(many=True), 400: PROBLEM, 403: PROBLEM},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["statements"], responses={200: StatementDetailSerializer, 404: PROBLEM})
class StatementDetailView(StatementsMixin, generics.RetrieveAPIView):
    """One statement, with the packages its month drew on."""

    serializer_class = StatementDetailSerializer

    def get_queryset(self):
        return self.statements()
