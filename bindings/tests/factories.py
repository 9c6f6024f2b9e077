"""factory-boy factories of bindings' models (applications: ``console.testing.factories``)."""

from __future__ import annotations

import factory
from django.utils import timezone

from bindings.choices import BindingStatus
from bindings.cities import province_of
from bindings.models import Binding, XNumber
from console.testing.factories import ApplicationFactory


class XNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = XNumber

    number = factory.Sequence(lambda n: f"+86170{n:08d}")
    application = factory.SubFactory(ApplicationFactory)
    city_code = "0755"
    province = factory.LazyAttribute(lambda o: province_of(o.city_code))


class BindingFactory(factory.django.DjangoModelFactory):
    """An active AXB binding on its own X (counts are the caller's business)."""

    class Meta:
        model = Binding

    application = factory.SubFactory(ApplicationFactory)
    mode = factory.LazyAttribute(lambda o: o.application.mode)
    status = BindingStatus.ACTIVE
    a_number = factory.Sequence(lambda n: f"+86135{n:08d}")
    b_number = factory.Sequence(lambda n: f"+86136{n:08d}")
    x = factory.SubFactory(XNumberFactory, application=factory.SelfAttribute("..application"))
    x_number = factory.LazyAttribute(lambda o: o.x.number if o.x else "")
    subscription_id = factory.Sequence(lambda n: f"sub{n:010d}")
    bound_at = factory.LazyFunction(timezone.now)
