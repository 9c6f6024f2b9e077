"""“Why did this call end this way?” never contradicts itself, over every way a call can end.

The combinations are the simulator's: each outcome it can end a call with, and each failure its
routing finds, with the hang-up cause, release point and Q.850 cause the platform gives them.
"""

from __future__ import annotations

import pytest
from django.utils import translation

from billing import explain
from privatenumber import codes
from simulator import routing as simulated

FAILURES = {
    "no_binding_axb": simulated.NO_BINDING["AXB"],
    "no_binding_ax": simulated.NO_BINDING["AX"],
    "no_binding_axe": simulated.NO_BINDING["AXE"],
    "no_binding_axyb": simulated.NO_BINDING["AXYB"],
    "direction_refused": simulated.DIRECTION_REFUSED,
    "x_unavailable": simulated.X_UNAVAILABLE,
    "ax_no_callee": simulated.AX_NO_CALLEE,
    "axe_no_callback": simulated.AXE_NO_CALLBACK,
    "axe_empty_extension": simulated.AXE_EMPTY_EXTENSION,
    "axyb_self": simulated.AXYB_SELF,
    "malformed_number": simulated.MALFORMED_NUMBER,
    **{name: outcome for name, outcome in simulated.OUTCOMES.items() if name != "answered"},
}


def reasons_of(outcome, *, answered: bool, language: str) -> list[explain.Explained]:
    with translation.override(language):
        return explain.call_reasons(
            answered=answered,
            hangup=outcome.cause,
            release=outcome.release,
            q850_forward=outcome.q850,
        )


def answered_advice(language: str) -> str:
    with translation.override(language):
        return str(explain.CATEGORY_ADVICE["normal"])


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("name", sorted(FAILURES))
def test_an_unanswered_call_is_never_explained_as_answered(name, language):
    # given a call that ended without being answered, with the platform's three codes
    reasons = reasons_of(FAILURES[name], answered=False, language=language)
    # then every code is explained, none as a normal end or with the answered call's advice
    assert reasons
    assert all(reason.category != "normal" for reason in reasons), reasons
    assert all(reason.advice != answered_advice(language) for reason in reasons), reasons
    # and the Q.850 cause, when there is one, reads like the rest of the call
    categories = {reason.category for reason in reasons if reason.category != "unknown"}
    q850 = [reason for reason in reasons if "850" in reason.label]
    if q850:
        assert q850[0].category in categories


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_unanswered_8104_call_says_the_callee_was_switched_off_on_every_row(language):
    # given the call of the issue: power off, 0 s (hang-up 8104, release 8104, Q.850 20)
    reasons = reasons_of(simulated.OUTCOMES["power_off"], answered=False, language=language)
    # then all three rows blame the callee, none says the call was answered
    assert [reason.code for reason in reasons] == [8104, 8104, 20]
    assert {reason.category for reason in reasons} == {"callee"}
    with translation.override(language):
        callee = str(explain.CATEGORY_ADVICE["callee"])
    assert [reason.advice for reason in reasons][2] == callee


def test_a_caller_who_hung_up_while_it_rang_is_not_a_normal_clearing():
    # Q.850 16 "normal call clearing" on a call nobody answered: the caller gave up
    reasons = reasons_of(simulated.OUTCOMES["caller_hangup_ringing"], answered=False, language="en")
    assert [(r.code, r.category) for r in reasons] == [
        (7502, "caller"),
        (7502, "caller"),
        (16, "caller"),
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(("cause", "release"), [(0, 0), (0, 7503), (0, 7501)])
def test_an_answered_call_ended_by_either_party_ended_normally(cause, release, language):
    # given an answered call, whoever hung up
    with translation.override(language):
        reasons = explain.call_reasons(answered=True, hangup=cause, release=release)
    # then no row says the callee did not take it
    assert {reason.category for reason in reasons} == {"normal"}
    assert {reason.advice for reason in reasons} == {answered_advice(language)}


def test_an_answered_call_cut_by_the_platform_keeps_that_reason():
    # 8010: the binding's maximum call length was reached, a rule of the application's
    reasons = explain.call_reasons(answered=True, hangup=simulated.MAX_DURATION_REACHED, release=0)
    assert reasons[0].category == codes.hangup_cause(8010).category
    assert reasons[0].category not in explain.ENDINGS


def test_a_call_without_binding_and_without_events_is_explained_as_8014():
    reasons = explain.call_reasons(answered=False, no_binding=True, release=8014)
    assert [(r.code, r.category) for r in reasons] == [(8014, "binding"), (8014, "binding")]


@pytest.mark.parametrize("code", [0, 16, 20, 34, 47, 63, 79, 95, 111, 127, 200])
def test_every_q850_cause_has_a_category_a_reader_can_read(code):
    with translation.override("zh-hans"):
        reason = explain.q850(code)
    assert reason.category in explain.CATEGORY_ADVICE
    assert not reason.category_name.isascii()  # named in Chinese, not "resource" or "normal"


def test_a_call_refused_because_a_was_not_registered_links_to_the_a_number_register():
    with translation.override("en"):
        [reason] = explain.call_reasons(answered=False, hangup=8058)
        [other] = explain.call_reasons(answered=False, hangup=8059)
    assert reason.link == "/admin/bindings/anumberregistration/"
    assert "register" in reason.link_text
    assert other.link == ""
