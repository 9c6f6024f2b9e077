"""The first hour on the embedded defaults (issue #14): every page, as each role, in both languages.

Runs in the embedded pass only (``make test``'s second pass: SQLite, kombu's filesystem broker and
a file cache, the configuration of ``make run`` without Redis). The demo is loaded as ``make run``
loads it, against a real simulator that pushes to the live server, and a real worker on the
filesystem broker fetches the recordings. Then, as customer service and as a number
administrator, in Chinese and in English, a browser at 1366×768:

* searches the landing page for numbers typed several ways, an X number and an order reference;
* opens every list the role reaches (the navigation and the admin's index), applies a filter, and
  opens the first row's page; opens a binding of every mode, its end confirmation, the form of
  every mode, a failed call, a recorded call, and a page the role may not open.

On every page it finds no server error and no browser error, no layout wider than the window
(the page, or a scrolling box in it), and no untranslated text: in English no Chinese character
outside the data (application names, SMS, …), in Chinese no text that is an English message of a
catalogue (ours, and the platform's codes). The screenshots in ``docs/screenshots/`` come from
this run.
"""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

from billing.models import CallRecord, SmsRecord
from bindings.models import Binding
from console.models import Application, PlatformCall
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing import KNOWN_PASSWORD, wait_until
from privatenumber import codes
from recordings.choices import RecordingState
from recordings.models import Recording
from shell import demo
from simulator.testing import run_simulator
from tests.browser.conftest import SCREENSHOTS, Journey

pytestmark = [
    pytest.mark.browser,
    pytest.mark.simulator,
    pytest.mark.slow,
    pytest.mark.embedded_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1366, 768
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\uff01-\uff5e\u3000-\u303f]")
LANGUAGE_NAMES = ("简体中文", "English")
# Two English words in a row: a sentence or a label the Chinese page should not show.
ENGLISH_WORDS = re.compile(r"\b[A-Za-z][a-z]+ [a-z]{2,}\b")
# The numbers of the demo's first AXB binding, typed as people type them, and what else staff
# search for (an X number, an order reference are added from the data).
TYPED = (" 138 1000 0001 ", "+86-138-1000-0001", "0086 13810000001", "139-2000-0001")
# Pages shown in the README, by label, in each language.
SHOTS = {
    "staff": ("console", "search", "binding", "failed-call", "recording"),
    "admin": ("statements", "pool-usage", "dashboard", "add-axe", "confirm-end"),
}

# Everything a page says, as text nodes (not restyled by CSS), and what is wider than the window:
# the page, or a box that scrolls (Django's lists scroll sideways inside a box).
INSPECT = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (parent && ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(parent.tagName)) continue;
    const text = walker.currentNode.textContent.trim();
    if (text) texts.push(text);
  }
  for (const element of document.querySelectorAll('[placeholder], [title], input[type=submit]'))
    for (const attribute of ['placeholder', 'title', 'value'])
      if (element.getAttribute(attribute) && (attribute !== 'value' || element.type === 'submit'))
        texts.push(element.getAttribute(attribute).trim());
  texts.push(document.title.trim());
  const wide = [];
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth > width)
    wide.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
  for (const element of document.querySelectorAll('body *')) {
    const style = getComputedStyle(element);
    if (element.clientWidth > 20 && ['auto', 'scroll'].includes(style.overflowX)
        && element.scrollWidth > element.clientWidth + 1)
      wide.push(element.tagName.toLowerCase() + '.' + element.className + ' scrolls: '
                + element.scrollWidth + ' px in ' + element.clientWidth);
  }
  return {texts: texts, wide: wide};
}"""


def catalogue_english() -> set[str]:
    """English messages that have a different Chinese translation: ours and the platform's."""
    messages = set()
    for path in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"):
        if ".venv" in path.parts:
            continue
        for entry in polib.pofile(str(path)):
            if entry.msgstr and entry.msgstr != entry.msgid and "%(" not in entry.msgid:
                messages.add(entry.msgid.strip())
    for table in (codes.HANGUP_CAUSES, codes.RELEASE_POINTS, codes.Q850_CAUSES):
        messages |= {cause.en for cause in table.values() if cause.en != cause.zh}
    messages |= {name for name, zh in codes.CATEGORIES.values() if name != zh}
    return {m for m in messages if len(m) > 2}


def data_strings() -> list[str]:
    """Text that is data, not the console's words: shown as people or the platform typed it."""
    strings = set(Application.objects.values_list("name", flat=True))
    strings |= set(SmsRecord.objects.values_list("content", flat=True))
    strings |= set(Binding.objects.values_list("order_ref", flat=True))
    strings |= set(Binding.objects.values_list("last_result_desc", flat=True))
    strings |= set(PlatformCall.objects.values_list("result_desc", flat=True))
    strings |= set(Recording.objects.values_list("audio_format", flat=True))
    strings |= set(LANGUAGE_NAMES)
    return sorted((s for s in strings if s), key=len, reverse=True)


class Walk:
    """One browser context of one role in one language, and what went wrong in it."""

    def __init__(self, browser, base_url: str, role: str, language: str, english, data) -> None:
        self.context = browser.new_context(
            locale="zh-CN" if language == "zh-hans" else "en-US",
            viewport={"width": WIDTH, "height": HEIGHT},
            extra_http_headers={"Accept-Language": "zh-CN" if language == "zh-hans" else "en"},
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.journey = Journey(self.page, base_url, f"walk-{role}-{language}", SCREENSHOTS)
        self.role, self.language, self.english, self.data = role, language, english, data
        self.seen: set[str] = set()

    @property
    def problems(self) -> list[str]:
        return self.journey.problems

    def sign_in(self, username: str) -> None:
        self.journey.goto("/admin/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", KNOWN_PASSWORD)
        with self.page.expect_navigation():
            self.page.click("input[type=submit]")

    def open(self, path: str, *, expect: int = 200, shot: str = "") -> None:
        before = len(self.problems)
        response = self.journey.goto(path)
        if expect != 200:  # the browser reports the refused page itself as a console error
            self.problems[before:] = [p for p in self.problems[before:] if str(expect) not in p]
        if response is None or response.status != expect:
            status = response.status if response else "no answer"
            self.problems.append(f"{path}: HTTP {status}, expected {expect}")
        self.inspect(path)
        if shot in SHOTS[self.role]:
            self.journey.shot(shot)

    def inspect(self, where: str) -> None:
        found = self.page.evaluate(INSPECT)
        self.seen.add(self.page.url)
        for wide in found["wide"]:
            self.problems.append(f"{where}: wider than {WIDTH} px: {wide}")
        for text in found["texts"]:
            if self.language == "en":
                if CJK.search(self.without_data(text)):
                    self.problems.append(f"{where}: Chinese in the English page: {text!r}")
            elif text.rstrip(":：") in self.english:
                self.problems.append(f"{where}: untranslated in the Chinese page: {text!r}")
            elif ENGLISH_WORDS.search(self.without_data(text)):
                # English words that are not in a catalogue at all (never marked for it)
                self.problems.append(f"{where}: English in the Chinese page: {text!r}")

    def without_data(self, text: str) -> str:
        for data in self.data:
            text = text.replace(data, "")
        return text

    def links(self, selector: str) -> list[str]:
        return self.page.eval_on_selector_all(selector, "links => links.map(a => a.href)")

    def relative(self, url: str) -> str:
        return url.removeprefix(self.journey.base_url)

    def walk_list(self, path: str) -> None:
        """A list, filtered by its first filter, and the page of its first row."""
        self.open(path)
        filters = self.links("#changelist-filter ul li:not(.selected) a")
        if path.startswith("/bindings/"):  # the console's lists filter with a form
            filters += [f"{path}?{query}" for query in self.console_filter()]
        if filters:
            self.open(self.relative(filters[0]))
            self.journey.goto(path)
        rows = self.links("#result_list tbody tr:first-child a, table.calls tbody tr:first-child a")
        rows += self.links("#content-main table tbody tr:first-child a")
        rows += self.links(".results table tbody tr:first-child a")
        rows = [r for r in rows if r.startswith(self.journey.base_url) and "?" not in r]
        if rows:
            self.open(self.relative(rows[0]))

    def console_filter(self) -> list[str]:
        """A console list's first filter with a choice (its form's first select), as a query."""
        return self.page.eval_on_selector_all(
            "form.billing-filters select",
            """selects => selects.flatMap(s => [...s.options].filter(o => o.value)
                .slice(0, 1).map(o => s.name + '=' + encodeURIComponent(o.value))).slice(0, 1)""",
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def demo_console(settings, tmp_path, live_server, celery_worker):
    """The demo of `make run`, small, pushed by a real simulator to the live server."""
    settings.VAR_DIR = tmp_path
    settings.CONSOLE_BASE_URL = live_server.url
    with run_simulator(demo.simulator_config(tmp_path), time_scale=60) as sim:
        call_command(
            "load_demo",
            simulator=sim.base_url,
            axb_bindings=12,
            ax_bindings=4,
            axe_bindings=6,
            axyb_bindings=3,
            calls_per_day=8,
            today_calls=12,
            sms=4,
        )
        # today's calls, their recordings (fetched by the worker) and the SMS have arrived
        wait_until(
            lambda: (
                Recording.objects.filter(state=RecordingState.STORED).exists()
                and SmsRecord.objects.exists()
            ),
            timeout=90,
            interval=0.5,
        )
        yield sim


def walk_role(walk: Walk, role: str) -> None:
    """Everything one role does in the first hour, in one language."""
    walk.sign_in(role)
    walk.open("/", shot="console")
    # the landing search, numbers typed several ways, an X number, an order reference
    binding = Binding.objects.filter(a_number="+8613810000001").first()
    searches = [*TYPED, binding.x_number.replace("+86", "+86 "), binding.order_ref]
    for index, typed in enumerate(searches):
        walk.page.fill("#console-q", typed)
        with walk.page.expect_navigation():
            walk.page.press("#console-q", "Enter")
        walk.inspect(f"search {typed!r}")
        found = walk.page.locator(".console-results").text_content()
        if binding.order_ref not in found:
            walk.problems.append(f"search {typed!r} did not find {binding.order_ref}")
        if index == 0 and "search" in SHOTS[role]:
            walk.journey.shot("search")
    # every list the navigation and the admin's index lead to, filtered, and a row's page
    walk.open("/admin/")
    lists = walk.links(".console-nav a") + walk.links("#content-main th[scope=row] a")
    for url in dict.fromkeys(walk.relative(link) for link in lists):
        if url not in ("/", "/admin/"):
            walk.walk_list(url)
    # a binding of every mode, and what ending one asks
    for mode in ("AXB", "AX", "AXE", "AXYB"):
        pk = Binding.objects.filter(mode=mode, status="active").values_list("pk", flat=True)[0]
        walk.open(f"/bindings/{pk}/", shot="binding" if mode == "AXB" else "")
    walk.open(f"/bindings/{binding.pk}/end/", shot="confirm-end")
    # the create form of every mode
    for application in Application.objects.order_by("pk"):
        label = f"add-{application.mode.lower()}"
        walk.open(f"/bindings/add/?application={application.pk}", shot=label)
    walk.open("/bindings/bulk/")
    # a failed call (why it ended so) and a recorded one (its player)
    failed = CallRecord.objects.exclude(outcome="answered").order_by("-started_at").first()
    walk.open(f"/calls/{failed.application_id}/{failed.session_id}/", shot="failed-call")
    recorded = Recording.objects.filter(state=RecordingState.STORED).first().call_record
    walk.open(f"/calls/{recorded.application_id}/{recorded.session_id}/", shot="recording")
    if role == "staff":
        walk.open("/statements/", expect=403)  # a page the role may not open
    else:
        walk.open("/statements/", shot="statements")
        walk.open("/bindings/numbers/usage/", shot="pool-usage")
        # the pool's pages the navigation does not list: imports and reconciliations
        walk.open("/bindings/numbers/import/")
        walk.walk_list("/bindings/numbers/imports/")
        walk.walk_list("/bindings/reconciliations/")
        walk.open("/dashboard/", shot="dashboard")


def test_the_default_configuration_walks_clean_as_every_role_in_both_languages(
    demo_console, browser, live_server, make_user
):
    # given the demo, and a user of each role
    make_user("staff", CUSTOMER_SERVICE)
    make_user("admin", NUMBER_ADMINISTRATOR)
    english, data = catalogue_english(), data_strings()
    problems = []
    pages = 0
    for role in ("staff", "admin"):
        for language in ("zh-hans", "en"):
            # when the role walks the console in this language
            walk = Walk(browser, live_server.url, role, language, english, data)
            try:
                walk_role(walk, role)
            finally:
                walk.close()
            problems += [f"{role} {language}: {problem}" for problem in walk.problems]
            pages += len(walk.seen)
    # then nothing answered 500, nothing is untranslated, nothing is wider than the window
    assert pages > 100
    assert problems == [], "\n".join(problems)
