"""``/api/v1/bindings/``, ``/api/v1/pools/``, ``/api/v1/numbers/`` (included by the shell under
the ``api`` namespace)."""

from __future__ import annotations

from django.urls import path

from bindings.api import views

urlpatterns = [
    path("bindings/", views.BindingListView.as_view(), name="binding-list"),
    path("bindings/<int:pk>/", views.BindingDetailView.as_view(), name="binding-detail"),
    path("bindings/<int:pk>/end/", views.BindingEndView.as_view(), name="binding-end"),
    path("pools/", views.PoolListView.as_view(), name="pool-list"),
    path("numbers/", views.XNumberListView.as_view(), name="number-list"),
    path("numbers/<int:pk>/", views.XNumberDetailView.as_view(), name="number-detail"),
]
