"""``Authorization: Bearer <API key>`` (or ``Api-Key <key>``): the request runs as the key."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from console import apikeys
from console.models import ApiKey


class ApiPrincipal:
    """The ``request.user`` of an API request: the key, as the audit log names it."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    pk = None
    id = None

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.username = f"api:{key.name}"

    def has_perm(self, perm: str, obj=None) -> bool:
        return False  # a key has scopes, never a person's permissions

    def __str__(self) -> str:
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates with an API key; ``request.auth`` is the :class:`~console.models.ApiKey`."""

    keywords = ("bearer", "api-key")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the key as: Authorization: Bearer <key>.")
            )
        key = apikeys.key_for(header[1])
        if key is None:
            raise exceptions.AuthenticationFailed(_("Unknown or revoked API key."))
        return ApiPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document describes the key."""

    target_class = "console.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key (pnc_…)."}
