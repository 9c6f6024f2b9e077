"""What the models of billing share: money fields, the push a row came from."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}
PRICE = {"max_digits": 10, "decimal_places": 2, "validators": [MinValueValidator(0)]}


def delivery_field() -> models.ForeignKey:
    """The push (``console.Delivery``) a row came from.

    No constraint and no index: the inbox may be purged one day without touching millions of rows
    here, and nothing looks rows up by their push.
    """
    return models.ForeignKey(
        "console.Delivery",
        verbose_name=_("push"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
