"""Response headers Django 5.2 does not set itself: the Content-Security-Policy.

Every page of the console and the admin loads its scripts, styles, images and audio from the
console's own origin, and nothing else: no inline script or event handler (``data-autosubmit``
and ``console/static/console/autosubmit.js`` replace ``onchange=``), no inline style, no framing,
no plugin, forms posting only here. An injected ``<script>`` or ``onerror=`` therefore does not
run even if some text escaped its escaping. The policy is ``CONTENT_SECURITY_POLICY`` (settings,
from the environment); empty sends no header.
"""

from __future__ import annotations

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` to every response that has none of its own."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
