"""factory-boy factories of bindings' models (and the application they belong to)."""

from __future__ import annotations

import factory
from django.utils import timezone

from bindings.choices import BindingStatus
from bindings.cities import province_of
from bindings.models import Binding, PlatformCall, XNumber
from console.models import Application

TEST_SECRET = "test-app-secret-0000000000000001"


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application
        django_get_or_create = ("app_key",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Application {n}")
    mode = "AXB"
    app_key = factory.Sequence(lambda n: f"testKey{n:025d}")
    base_url = "http://127.0.0.1:9"
    extension_length = factory.LazyAttribute(lambda o: 4 if o.mode == "AXE" else None)

    @factory.post_generation
    def secret(self, create, extracted, **kwargs):
        self.set_secret(extracted or TEST_SECRET)
        if create:
            self.save(update_fields=["app_secret_encrypted"])


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


class PlatformCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformCall

    application = factory.SubFactory(ApplicationFactory)
    interface = "axb_bind"
    method = "POST"
    http_status = 200
    result_code = "0"
    latency_ms = 12
