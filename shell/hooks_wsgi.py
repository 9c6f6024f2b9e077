"""WSGI entry point that serves the push receivers without the console's middleware.

``gunicorn shell.hooks_wsgi:application`` serves everything ``shell.wsgi`` serves; requests to
``/hooks/<endpoint>`` skip sessions, authentication, CSRF, locale, messages, axes and whitenoise,
none of which a signed machine-to-machine push uses (about a millisecond per request, a tenth of
the CPU a 50-CDR push costs). What the receiver still needs is done here: the host is checked
against ``ALLOWED_HOSTS``, ``request_started``/``request_finished`` are sent (they manage database
connections), and an unexpected exception becomes a logged 500.
"""

from __future__ import annotations

import logging
import os

from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseServerError
from django.urls import set_script_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shell.settings")

logger = logging.getLogger("console.hooks")


class HooksApplication:
    """Route ``/hooks/<endpoint>`` to :func:`console.hooks.receive`, the rest to ``fallback``."""

    def __init__(self, fallback) -> None:
        from console import hooks
        from console.choices import HookEndpoint

        self.fallback = fallback
        self.receive = hooks.receive
        self.paths = {f"/hooks/{name}": name for name in HookEndpoint.values}

    def __call__(self, environ, start_response):
        endpoint = self.paths.get(environ.get("PATH_INFO", ""))
        if endpoint is None:
            return self.fallback(environ, start_response)
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=self.__class__, environ=environ)
        request = WSGIRequest(environ)
        response = self._respond(request, endpoint)
        if not response.has_header("Content-Length"):
            # as CommonMiddleware would: a kept-alive connection then needs no chunked encoding
            response.headers["Content-Length"] = str(len(response.content))
        response._resource_closers.append(request.close)
        start_response(
            f"{response.status_code} {response.reason_phrase}",
            [
                *response.items(),
                *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
            ],
        )
        return response  # its close() sends request_finished

    def _respond(self, request: WSGIRequest, endpoint: str) -> HttpResponse:
        try:
            request.get_host()
            return self.receive(request, endpoint)
        except DisallowedHost as error:
            logger.warning("push refused: %s", error)
            return HttpResponseBadRequest()
        except Exception:
            logger.exception("push receiver failed")
            return HttpResponseServerError()


application = HooksApplication(get_wsgi_application())
