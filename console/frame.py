"""The admin's frame of a console page written in Python (issue 19).

The frame (``admin/base.html`` as ``admin/base_site.html`` and ``console/page.html`` extend it:
head, header, language form, user links, menu, breadcrumbs, messages, the numbers switch) cost
about a fifth of the calls list's CPU through the template engine: five templates extended,
some twenty tags. :func:`console_page` writes the same markup with the same values, escaped as
the templates escape them; a page's own template renders only its ``page`` block. Used by the
busiest page (the calls list, ``billing.views``); the others keep the templates.
``billing/tests/test_frame.py`` renders the calls list both ways (every role, both languages,
messages, the banner, the numbers switch) and compares them byte for byte, so a change to one
of those templates (or Django's) that is not made here too fails it.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.contrib import messages as django_messages
from django.middleware.csrf import get_token
from django.template import engines
from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext

from console.static_urls import url as static
from console.templatetags.console_tags import menu_url, nav_entries, nav_html


@lru_cache(maxsize=1)
def _svgs() -> str:
    """The icons at the end of ``admin/base.html``, taken from the template itself (static
    markup, no tag)."""
    source = engines["django"].get_template("admin/base.html").template.source
    start = source.index("<!-- SVGs -->")
    end = source.index("<!-- END SVGs -->") + len("<!-- END SVGs -->")
    return source[start:end]


def _e(value) -> str:
    """``{{ value }}`` of a string (lazy or not): escaped unless marked safe."""
    return conditional_escape(value)


def _t(message: str) -> str:
    """``{% translate message %}``."""
    return conditional_escape(gettext(message))


def _theme_toggle() -> str:
    """``admin/color_theme_toggle.html``."""
    return (
        '\n<button class="theme-toggle">\n'
        f'  <span class="visually-hidden theme-label-when-auto">'
        f"{_t('Toggle theme (current theme: auto)')}</span>\n"
        f'  <span class="visually-hidden theme-label-when-light">'
        f"{_t('Toggle theme (current theme: light)')}</span>\n"
        f'  <span class="visually-hidden theme-label-when-dark">'
        f"{_t('Toggle theme (current theme: dark)')}</span>\n"
        '  <svg aria-hidden="true" class="theme-icon-when-auto">\n'
        '    <use xlink:href="#icon-auto" />\n'
        "  </svg>\n"
        '  <svg aria-hidden="true" class="theme-icon-when-dark">\n'
        '    <use xlink:href="#icon-moon" />\n'
        "  </svg>\n"
        '  <svg aria-hidden="true" class="theme-icon-when-light">\n'
        '    <use xlink:href="#icon-sun" />\n'
        "  </svg>\n"
        "</button>\n"
    )


def _messages(request) -> str:
    """The ``messages`` block of ``admin/base.html`` (the messages are marked as read, as when
    the template iterates them)."""
    storage = django_messages.get_messages(request)
    if not storage:
        return "\n          \n        "
    items = []
    for message in storage:
        text = str(message)
        capitalised = text and text[0].upper() + text[1:]
        shown = capitalised if isinstance(text, SafeData) else escape(capitalised)
        tags = f' class="{_e(message.tags)}"' if message.tags else ""
        items.append(f"\n              <li{tags}>{shown}</li>\n            ")
    return (
        f'\n          \n            <ul class="messagelist">{"".join(items)}</ul>\n'
        "          \n        "
    )


def _numbers_toggle(numbers) -> str:
    """``console/_numbers_toggle.html``."""
    if not numbers.allowed:
        return "\n"
    if numbers.revealed:
        inner = (
            f"{_t('Full numbers are shown on this page, and this page view is in the audit log.')}"
            f' <a href="{_e(numbers.hide_url)}">{_t("Mask them")}</a>'
        )
    else:
        inner = f'<a href="{_e(numbers.reveal_url)}">{_t("Show full numbers (audited)")}</a>'
    return f'<p class="numbers-toggle">{inner}</p>\n'


@lru_cache(maxsize=1)
def _banner():
    """``admin/base_site.html``'s recordings banner, through its own tag: the recordings app is
    above the kernel (console cannot import it), the template engine finds it by name."""
    return engines["django"].from_string("{% load recordings_tags %}{% recordings_alert_banner %}")


def console_page(
    request, context: dict, page: str, *, extrastyle: str = "", bodyclass: str = ""
) -> str:
    """The whole page: ``console/page.html``'s frame around ``page`` (its ``page`` block).

    ``context`` is the page's (``ConsolePage.get_context_data``: title, numbers, the site's
    names); ``extrastyle`` and ``bodyclass`` what the page's own base template adds to those
    blocks (already markup).
    """
    user = request.user
    language = translation.get_language()
    bidi = translation.get_language_bidi()
    title = _e(context.get("title"))
    site_title = context.get("site_title") or gettext("Django site admin")
    site_header = context.get("site_header") or gettext("Django administration")
    token = get_token(request)
    csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(token)}">'
    tz = timezone.get_current_timezone() if settings.USE_TZ else None
    options = "".join(
        f'<option value="{_e(code)}"{" selected" if code == language else ""}>'
        f"{_e(gettext(name))}</option>"
        for code, name in settings.LANGUAGES
    )
    rtl = f'<link rel="stylesheet" href="{_e(static("admin/css/rtl.css"))}">' if bidi else ""
    responsive_rtl = (
        f'<link rel="stylesheet" href="{_e(static("admin/css/responsive_rtl.css"))}">'
        if bidi
        else ""
    )
    name = user.get_short_name() or user.get_username()
    site_url = context.get("site_url")
    view_site = (
        f'\n                    <a href="{_e(site_url)}">{_t("View site")}</a> /\n                '
        if site_url
        else ""
    )
    docs = (
        "\n                    \n                    \n                "
        if (user.is_active and user.is_staff)
        else ""
    )
    password = (
        f'\n                <a href="{_e(menu_url("admin:password_change"))}">'
        f"{_t('Change password')}</a> /\n                "
        if user.has_usable_password()
        else ""
    )
    banner = _banner().render({"request": request})
    numbers = context.get("numbers")
    home = _e(menu_url("admin:index"))
    set_language = _e(menu_url("set_language"))
    logout = _e(menu_url("admin:logout"))
    parts = [
        "<!DOCTYPE html>\n\n",
        f'<html lang="{_e(language or "en-us")}" dir="{"rtl" if bidi else "ltr"}">\n',
        "<head>\n",
        f"<title>{title} | {_e(site_title)}</title>\n",
        f'<link rel="stylesheet" href="{_e(static("admin/css/base.css"))}">\n',
        f'\n  <link rel="stylesheet" href="{_e(static("admin/css/dark_mode.css"))}">\n',
        f'  <script src="{_e(static("admin/js/theme.js"))}"></script>\n\n',
        "\n",
        f'<link rel="stylesheet" href="{_e(static("console/console.css"))}">\n',
        f'<link rel="icon" href="{_e(static("console/favicon.svg"))}" type="image/svg+xml">\n',
        f'<script src="{_e(static("console/autosubmit.js"))}" defer></script>{extrastyle}\n',
        f"{rtl}\n",
        "\n",
        '\n    <meta name="viewport" content="width=device-width, initial-scale=1.0">\n',
        f'    <link rel="stylesheet" href="{_e(static("admin/css/responsive.css"))}">\n',
        f"    {responsive_rtl}\n\n",
        '<meta name="robots" content="NONE,NOARCHIVE">\n',
        "</head>\n\n",
        f'<body class="{bodyclass}"\n',
        f'  data-admin-utc-offset="{_e(date_filter(datetime.now(tz=tz), "Z"))}">\n',
        f'<a href="#content-start" class="skip-to-content-link">{_t("Skip to main content")}</a>\n',
        "<!-- Container -->\n",
        '<div id="container">\n\n    \n    <!-- Header -->\n    \n',
        '      <header id="header">\n        <div id="branding">\n        \n',
        f'<div id="site-name"><a href="{home}">{_e(site_header)}</a></div>\n',
        "\n" if not user.is_anonymous else f"{_theme_toggle()}\n",
        f'<form class="language-switch" action="{set_language}" method="post">{csrf}\n',
        f'  <input name="next" type="hidden" value="{_e(request.get_full_path())}">\n',
        f'  <label for="language-select" class="visually-hidden">{_t("Language")}</label>\n',
        '  <select id="language-select" name="language" data-autosubmit>\n',
        f"    \n    {options}\n",
        "  </select>\n",
        f'  <noscript><button type="submit">{_t("Switch")}</button></noscript>\n',
        "</form>\n\n",
        "        </div>\n        \n        \n",
        '        <div id="user-tools">\n            \n',
        f"                {_t('Welcome,')}\n",
        f"                <strong>{_e(name)}</strong>.\n            \n            \n",
        f"                {view_site}\n",
        f"                {docs}\n",
        f"                {password}\n",
        f'                <form id="logout-form" method="post" action="{logout}">\n',
        f"                    {csrf}\n",
        f'                    <button type="submit">{_t("Log out")}</button>\n',
        "                </form>\n",
        f"                {_theme_toggle()}\n            \n",
        "        </div>\n        \n        \n        \n      </header>\n    \n",
        "    <!-- END Header -->\n    ",
        nav_html(nav_entries(request)),
        f'\n      <nav aria-label="{_t("Breadcrumbs")}">\n        \n',
        '<div class="breadcrumbs">\n',
        f'  <a href="{home}">{_t("Home")}</a>\n',
        f"  &rsaquo; {title}\n",
        "</div>\n\n      </nav>\n    \n    \n\n",
        '    <div class="main" id="main">\n      \n',
        '      <main id="content-start" class="content" tabindex="-1">\n        ',
        banner,
        _messages(request),
        "\n        <!-- Content -->\n",
        '        <div id="content" class="colM">\n          \n',
        f"          {f'<h1>{title}</h1>' if title else ''}\n",
        "          \n",
        "          \n",
        _numbers_toggle(numbers) if numbers else "",
        "\n",
        page,
        "\n\n",
        "          \n",
        '          <br class="clear">\n',
        "        </div>\n        <!-- END Content -->\n      </main>\n    </div>\n",
        '    <footer id="footer"></footer>\n',
        "</div>\n<!-- END Container -->\n\n",
        _svgs(),
        "\n\n</body>\n</html>\n",
    ]
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
