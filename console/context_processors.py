"""Template context of every page, the admin's or not."""

from __future__ import annotations

from django.conf import settings


def site(request) -> dict:
    """The console's name in the header and title of pages the admin site does not render
    (sign-in lock-out, 403 and 404 pages): without it they read "Django administration"."""
    return {"site_header": settings.ADMIN_SITE_TITLE, "site_title": settings.ADMIN_SITE_TITLE}
