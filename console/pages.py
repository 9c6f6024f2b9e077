"""The base of every console page that is not an admin page (issue 18: the kernel's, so every app
may build on it): the permission check, bounded paging, the admin's frame, the numbers switch.

Its template is ``console/page.html``; an app's pages extend it (billing's through
``billing/base.html``, which adds billing's styles).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.mixins import PermissionRequiredMixin

from console.paginators import BoundedPaging
from console.privacy import numbers_for


class ConsolePage(BoundedPaging, PermissionRequiredMixin):
    """Permission check, paging parameters within bounds, and the admin frame's context.

    A page that shows real numbers sets ``shows_numbers``: it gets ``numbers`` (the request's
    ``console.privacy.Numbers``, masked unless an allowed viewer asked) and the reveal switch.
    """

    title = ""
    shows_numbers = False

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # What the admin's frame needs, without admin.site.each_context(): that builds the whole
        # app list (every model, its permissions and URLs), a tenth of a list page's time.
        context.update(
            site_title=admin.site.site_title,
            site_header=admin.site.site_header,
            site_url=admin.site.site_url,
            has_permission=True,
            is_popup=False,
            is_nav_sidebar_enabled=False,
            available_apps=[],
            title=self.title,
            numbers=numbers_for(self.request) if self.shows_numbers else None,
        )
        return context
