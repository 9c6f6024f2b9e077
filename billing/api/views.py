"""Calls (CDRs) of the key's applications: newest first, by cursor, with filters."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics

from billing.api.serializers import CallSerializer
from billing.choices import CallOutcome
from billing.models import CallRecord
from console.api.pagination import NewestFirst
from console.api.params import moment
from console.api.permissions import applications_of
from console.choices import ApiScope
from console.numbers import InvalidNumber, normalize

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
        queryset = self.calls()
        query = self.request.query_params
        for name in ("binding", "subscription_id", "outcome", "application"):
            if query.get(name):
                queryset = queryset.filter(**{name: query[name]})
        if query.get("caller_num"):  # a real number: its exact value only
            try:
                queryset = queryset.filter(caller_num=normalize(query["caller_num"]))
            except InvalidNumber:
                queryset = queryset.none()
        for name, lookup in (("started_after", "gte"), ("started_before", "lt")):
            if query.get(name):
                queryset = queryset.filter(**{f"started_at__{lookup}": moment(query[name], name)})
        return queryset

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
