"""Calls: how the platform routes a call through a binding, and what it pushes about it.

A call is placed by the control API (one call, or many for load tests). The rules of the dialled
number's mode (``simulator/modes``) route it as the platform would (spec §4 and §8: which binding,
which callee, which failure); the engine then produces the call events (callin -> callout ->
alerting -> answer -> disconnect, failed calls skipping stages) and one CDR (spec §6.2), with a
recording for recorded calls longer than three seconds.

A call is normally placed "completed": it ended just now and all its events go out at once with
timestamps spread over its length. A ``live`` call is answered now and hangs up after its duration
(scaled), so stop-call (§5.4.4) can end it. X-mode calls first ask the customer (Block callin).
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from privatenumber import codes
from privatenumber.modes import MODES, STOP_CALL, Interface
from simulator import unconfirmed
from simulator.config import AppConfig
from simulator.exchange import InterfaceHandler
from simulator.modes.pool import fmt_time
from simulator.platform import Platform
from simulator.pushes import PushQueue
from simulator.recordings import Recordings
from simulator.results import PlatformError, invalid, missing
from simulator.routing import (
    MALFORMED_NUMBER,
    MAX_DURATION_REACHED,
    NO_BINDING,
    OUTCOMES,
    X_UNAVAILABLE,
    CallRoute,
    Outcome,
    fail,
)
from simulator.store import Store
from simulator.validate import Fields, is_global_number

logger = logging.getLogger(__name__)

HOST_NAME = "callenabler.simulator.local"
BULK_CHUNK = 500


def state_desc(cause: int) -> str:
    """Text of a hang-up cause for ``stateDesc`` (the table of privatenumber.codes)."""
    if cause == 0:
        return "The user releases the call."  # the text of Huawei's documented example
    return codes.hangup_cause(cause).en


@dataclass
class LiveCall:
    """A call in progress (``live``), waiting for its hang-up or a stop-call."""

    route: CallRoute
    session_id: str
    start: float
    answered: float
    talk: float
    timer: threading.Timer | None = None


class CallEngine:
    """Routes calls and turns them into events, CDRs and recordings."""

    def __init__(
        self, platform: Platform, store: Store, pushes: PushQueue, recordings: Recordings
    ) -> None:
        self.platform = platform
        self.store = store
        self.pushes = pushes
        self.recordings = recordings
        self._live: dict[str, LiveCall] = {}
        self._live_lock = threading.Lock()
        pushes.hooks["xcallin"] = self._x_answer

    def interfaces(self) -> dict[Interface, InterfaceHandler]:
        """The interface that ends a call in progress (stop-call, §5.4.4)."""
        return {STOP_CALL: self.stop_call}

    # --- routing ----------------------------------------------------------------------------------

    def route(
        self,
        db: sqlite3.Connection,
        caller: str,
        dialled: str,
        *,
        ext: str | None = None,
        no_binding: bool = False,
    ) -> CallRoute:
        """Route a call to ``dialled`` as the platform would; the mode's rules decide most."""
        number = db.execute("SELECT * FROM numbers WHERE number=?", (dialled,)).fetchone()
        if number is None:
            raise PlatformError("1016001", f"The number {dialled} is not an X of any application.")
        app = self.platform.app(number["app_key"])
        if app is None:
            raise PlatformError("1016001", f"The app of {dialled} is gone.")
        route = CallRoute(app=app, caller=caller, dialled=dialled, display=dialled, ext=ext)
        if number["status"] in ("9", "10"):
            route.failure = X_UNAVAILABLE
        elif no_binding:
            route.failure = NO_BINDING[app.mode]
        else:
            self.platform.rules(app.mode).route_call(db, route)
        if route.failure is None and route.callee and not is_global_number(route.callee):
            # A malformed bound number binds fine and fails here (spec §1.2).
            route.failure = MALFORMED_NUMBER
        return route

    # --- producing events and CDRs ----------------------------------------------------------------

    @staticmethod
    def new_icid() -> str:
        """A call-record id shaped like the documented example."""
        low, high = random.randint(10**9, 4 * 10**9), random.randint(10**8, 10**9)
        return f"{uuid.uuid4().hex}.{low}.{high}.5"

    @staticmethod
    def new_session_id() -> str:
        return (
            f"{random.randint(1000, 9999)}_{random.randint(100, 99999)}_"
            f"{random.randint(10**9, 4 * 10**9)}_{int(time.time() * 1000)}@{HOST_NAME}"
        )

    def _events(
        self,
        route: CallRoute,
        outcome: Outcome,
        session_id: str,
        times: dict[str, float],
        *,
        stages: tuple[str, ...],
    ) -> list[dict[str, Any]]:
        """The call events of ``stages`` (a subset of callin..disconnect) of one call."""
        events = []
        mode = MODES[route.app.mode]
        # An extension is dialled after callin: the callin of a mode with extensions names no
        # binding yet.
        extension = mode.extensions
        for stage in stages:
            info: dict[str, Any] = {"timestamp": fmt_time(times[stage]), "sessionId": session_id}
            if stage == "callin" or not route.callee or "callout" not in outcome.stages:
                info.update(caller=route.caller, called=route.dialled)
            else:
                info.update(caller=route.display, called=route.callee)
            if route.binding_id and not (extension and stage == "callin"):
                info["subscriptionId"] = route.binding_id
            if stage == "callin" and route.user_data:
                info["userData"] = route.user_data
            if stage == "callin" and mode.asks_customer:
                info["notifyMode"] = "Block"
            if extension and route.ext and stage in unconfirmed.AXE_DIGITINFO_EVENTS:
                info["digitInfo"] = route.ext
            if stage == "disconnect":
                info.update(stateCode=outcome.cause, stateDesc=state_desc(outcome.cause))
            events.append({"eventType": stage, "statusInfo": info})
        return events

    @staticmethod
    def _timeline(outcome: Outcome, start: float, ring: float, talk: float) -> dict[str, float]:
        times = {"callin": start}
        moment = start
        for stage, gap in (("callout", 1.0), ("alerting", 1.0), ("answer", ring)):
            if stage in outcome.stages:
                moment += gap
                times[stage] = moment
        if "answer" in outcome.stages:
            moment += talk
        elif "alerting" in outcome.stages:
            moment += ring
        else:
            moment += 1.0
        times["disconnect"] = moment
        return times

    def _cdr(
        self,
        db: sqlite3.Connection,
        route: CallRoute,
        outcome: Outcome,
        session_id: str,
        times: dict[str, float],
    ) -> dict[str, Any]:
        app = route.app
        mode = MODES[app.mode]
        answered = "answer" in outcome.stages
        forwarded = "callout" in outcome.stages
        cdr: dict[str, Any] = {
            "direction": route.direction if route.failure is None else 2,
            "spId": app.sp_id,
            "appKey": app.app_key,
            "icid": self.new_icid(),
            "bindNum": route.dialled,
            "sessionId": session_id,
            "subscriptionId": route.binding_id or "",
            "callerNum": route.caller,
            "calleeNum": route.dialled,
            "fwdDisplayNum": route.display if forwarded else None,
            "fwdDstNum": route.callee if forwarded else None,
            "callInTime": fmt_time(times["callin"]),
            "fwdStartTime": fmt_time(times["callout"]) if "callout" in times else None,
            "fwdAlertingTime": fmt_time(times["alerting"]) if "alerting" in times else None,
            "fwdAnswerTime": fmt_time(times["answer"]) if answered else None,
            "callEndTime": fmt_time(times["disconnect"]),
            "fwdUnaswRsn": outcome.q850,
            "failTime": None if answered else fmt_time(times["disconnect"]),
            "ulFailReason": outcome.release,
            "sipStatusCode": outcome.sip,
            "callOutUnaswRsn": 0,
            "recordFlag": 0,
            "serviceType": mode.service_type,
            "hostName": HOST_NAME,
            "userData": route.user_data,
            **unconfirmed.CDR_RESERVED_DEFAULTS,
        }
        if mode.extensions and route.ext:
            cdr[unconfirmed.CDR_EXTENSION_FIELD] = route.ext
        talk = int(times["disconnect"] - times["answer"]) if answered else 0
        if answered and route.record and talk > unconfirmed.RECORDING_MIN_SECONDS:
            cdr.update(self.recordings.create(db, app, session_id, times["answer"], talk))
        return {k: v for k, v in cdr.items() if v is not None}

    def _finish(
        self,
        db: sqlite3.Connection,
        route: CallRoute,
        outcome: Outcome,
        session_id: str,
        times: dict[str, float],
        *,
        stages: tuple[str, ...],
        events: bool = True,
    ) -> dict[str, Any]:
        """Queue the events of ``stages`` and (when the call is over) its CDR."""
        pushed = []
        if events:
            for event in self._events(route, outcome, session_id, times, stages=stages):
                pushed.append(
                    self.pushes.enqueue(db, route.app, "event", event, order_key=session_id)
                )
        cdr = None
        if "disconnect" in stages:
            cdr = self._cdr(db, route, outcome, session_id, times)
            self.pushes.add_cdrs(db, route.app, [cdr])
        return {"sessionId": session_id, "eventPushes": pushed, "cdr": cdr}

    # --- placing calls ----------------------------------------------------------------------------

    def _outcome(self, name: str) -> Outcome:
        outcome = OUTCOMES.get(name)
        if outcome is None:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)} or no_binding")
        return outcome

    def place(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Place one call; ``spec`` is the control API's JSON (see README)."""
        f = Fields(spec)
        caller = f.req_number("caller")
        dialled = f.req_number("called")
        ext = f.string("extension", min_len=0, max_len=4)
        name = f.string("outcome", max_len=32) or "answered"
        talk = f.integer("duration", lo=0, hi=86400)
        ring = f.integer("ring", lo=0, hi=300)
        live = bool(spec.get("live"))
        outcome = OUTCOMES["answered"] if name == "no_binding" else self._outcome(name)
        talk = 30 if talk is None else talk
        ring = 5 if ring is None else ring
        session_id = self.new_session_id()
        with self.store.tx() as db:
            route = self.route(db, caller, dialled, ext=ext, no_binding=name == "no_binding")
            if MODES[route.app.mode].asks_customer:
                return self._x_callin(db, route, session_id, outcome, talk, ring)
            outcome, talk = self._apply_route(route, outcome, talk)
            if live and route.failure is None and "answer" in outcome.stages:
                return self._go_live(db, route, outcome, session_id, talk, ring)
            return self._finish_now(db, route, outcome, session_id, talk, ring)

    @staticmethod
    def _apply_route(route: CallRoute, outcome: Outcome, talk: float) -> tuple[Outcome, float]:
        """The outcome the platform imposes: a routing failure, or the call's maxDuration."""
        if route.failure is not None:
            return route.failure, 0
        if "answer" in outcome.stages and route.max_minutes and talk > route.max_minutes * 60:
            return replace(outcome, cause=MAX_DURATION_REACHED, release=MAX_DURATION_REACHED), (
                route.max_minutes * 60
            )
        return outcome, talk

    @staticmethod
    def _summary(route: CallRoute, outcome: Outcome) -> dict[str, Any]:
        return {
            "appKey": route.app.app_key,
            "subscriptionId": route.binding_id,
            "callee": route.callee,
            "stateCode": outcome.cause,
            "ulFailReason": outcome.release,
            "fwdUnaswRsn": outcome.q850,
        }

    # --- live calls and stop-call -----------------------------------------------------------------

    def _go_live(
        self,
        db: sqlite3.Connection,
        route: CallRoute,
        outcome: Outcome,
        session_id: str,
        talk: float,
        ring: float,
    ) -> dict[str, Any]:
        now = time.time()
        times = self._timeline(outcome, now - ring - 2, ring, talk)
        result = self._finish(
            db,
            route,
            outcome,
            session_id,
            times,
            stages=("callin", "callout", "alerting", "answer"),
        )
        call = LiveCall(route, session_id, times["callin"], times["answer"], talk)
        call.timer = threading.Timer(
            talk / self.platform.time_scale, self._hang_up, (session_id, None)
        )
        call.timer.daemon = True
        with self._live_lock:
            self._live[session_id] = call
        call.timer.start()
        result.update(self._summary(route, outcome), live=True)
        return result

    def _hang_up(self, session_id: str, cause: int | None) -> bool:
        with self._live_lock:
            call = self._live.pop(session_id, None)
        if call is None:
            return False
        if call.timer is not None:
            call.timer.cancel()
        now = time.time()
        talk = min(call.talk, (now - call.answered) * self.platform.time_scale)
        outcome = OUTCOMES["answered"]
        if cause is not None:
            outcome = replace(outcome, cause=cause, release=cause)
        times = self._timeline(outcome, call.start, call.answered - call.start - 2, talk)
        with self.store.tx() as db:
            self._finish(db, call.route, outcome, session_id, times, stages=("disconnect",))
        return True

    def stop_call(self, app: AppConfig, f: Fields) -> dict[str, Any]:
        """Stop-call (§5.4.4): ``signal`` = ``call_stop`` and the call's ``sessionid``."""
        signal = f.req_string("signal", max_len=32)
        session_id = f.req_string(unconfirmed.STOP_CALL_SESSION_FIELD, max_len=256)
        if signal != "call_stop":
            raise invalid("signal")
        with self._live_lock:
            call = self._live.get(session_id or "")
        if call is None or call.route.app.app_key != app.app_key:
            raise PlatformError(unconfirmed.CALL_MISSING_CODE)
        self._hang_up(call.session_id, unconfirmed.STOP_CALL_STATE_CODE)
        return {}

    def live_calls(self) -> list[str]:
        with self._live_lock:
            return list(self._live)

    def stop_all(self) -> None:
        with self._live_lock:
            calls = list(self._live.values())
            self._live.clear()
        for call in calls:
            if call.timer is not None:
                call.timer.cancel()

    # --- X mode: the customer decides (Block callin) ----------------------------------------------

    def _x_callin(
        self,
        db: sqlite3.Connection,
        route: CallRoute,
        session_id: str,
        outcome: Outcome,
        talk: float,
        ring: float,
    ) -> dict[str, Any]:
        if route.failure is not None:  # e.g. X unavailable: no question asked
            return self._finish_now(db, route, route.failure, session_id, 0, ring)
        callin = self._events(
            route, outcome, session_id, {"callin": time.time()}, stages=("callin",)
        )[0]
        context = {
            "sessionId": session_id,
            "caller": route.caller,
            "dialled": route.dialled,
            "outcome": next(k for k, v in OUTCOMES.items() if v == outcome),
            "talk": talk,
            "ring": ring,
            "start": time.time(),
        }
        push_id = self.pushes.enqueue(db, route.app, "xcallin", callin, context=context)
        if push_id is None:  # nobody to ask: the call cannot be routed
            return self._finish_now(db, route, NO_BINDING[route.app.mode], session_id, 0, ring)
        return {"sessionId": session_id, "pending": True, "callinPush": push_id}

    def _finish_now(
        self,
        db: sqlite3.Connection,
        route: CallRoute,
        outcome: Outcome,
        session_id: str,
        talk: float,
        ring: float,
        *,
        stages_from: str = "callin",
        start: float | None = None,
        events: bool = True,
    ) -> dict[str, Any]:
        times = self._timeline(outcome, 0.0, ring, talk)
        shift = (start - times["callin"]) if start else time.time() - times["disconnect"]
        times = {k: v + shift for k, v in times.items()}
        stages = ("callin", *outcome.stages, "disconnect")
        stages = stages[stages.index(stages_from) :]
        result = self._finish(db, route, outcome, session_id, times, stages=stages, events=events)
        result.update(self._summary(route, outcome))
        return result

    def _x_answer(self, push: sqlite3.Row, status: int | None, answer: bytes) -> None:
        """The customer's answer to a Block callin: connect, close, or an invalid answer (8014)."""
        context = json.loads(push["context"])
        app = self.platform.app(push["app_key"])
        if app is None:
            return
        route = CallRoute(app=app, caller=context["caller"], dialled=context["dialled"])
        route.display = route.dialled
        outcome = self._outcome(context["outcome"])
        talk = context["talk"]
        try:
            decision = json.loads(answer.decode("utf-8")) if status is not None else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            decision = None
        failure: Outcome | None = NO_BINDING[app.mode]
        if isinstance(decision, dict) and decision.get("operation") == "close":
            failure = fail(unconfirmed.X_CLOSE_CAUSE)
        elif isinstance(decision, dict) and decision.get("operation") == "connect":
            info = decision.get("connectInfo")
            try:
                if not isinstance(info, dict):
                    raise missing("connectInfo")
                fields = Fields(info)
                route.callee = fields.req_number("calleeNum")
                route.display = fields.number("displayCalleeNum") or route.dialled
                route.max_minutes = fields.integer("maxDuration", lo=0, hi=1440) or 0
                route.record = app.record and fields.flag("recordFlag") == "true"
                route.user_data = fields.user_data()
                route.direction = 1
                failure = None
            except PlatformError:
                failure = NO_BINDING[app.mode]
        route.failure = failure
        if failure is None and route.callee and not is_global_number(route.callee):
            route.failure = MALFORMED_NUMBER
        outcome, talk = self._apply_route(route, outcome, talk)
        with self.store.tx() as db:
            self._finish_now(
                db,
                route,
                outcome,
                context["sessionId"],
                talk,
                context["ring"],
                stages_from="callout" if outcome.stages else "disconnect",
                start=context["start"],
            )

    # --- many calls at once -----------------------------------------------------------------------

    def bulk(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Place ``count`` completed calls spread over the app's active bindings."""
        app = self.platform.app(str(spec.get("app_key", "")))
        if app is None:
            raise ValueError("app_key names no app")
        count = int(spec.get("count", 0))
        if not 1 <= count <= 100000:
            raise ValueError("count must be 1 to 100000")
        mix = spec.get("outcome", "answered")
        weights = {mix: 1.0} if isinstance(mix, str) else dict(mix)
        for name in weights:
            self._outcome(name)
        duration = spec.get("duration", 30)
        low, high = (duration, duration) if isinstance(duration, int) else tuple(duration)
        if not all(isinstance(v, int) and 0 <= v <= 86400 for v in (low, high)) or low > high:
            raise ValueError("duration must be seconds (0-86400) or [min, max]")
        with_events = bool(spec.get("events", True))
        rules = self.platform.rules(app.mode)
        if rules.call_kind is None:
            raise ValueError(f"bulk calls are not available for {app.mode} apps")
        sessions = []
        with self.store.tx() as db:
            self.platform.sweep(db)
            rows = db.execute(
                "SELECT * FROM bindings WHERE app_key=? AND kind=? ORDER BY seq",
                (app.app_key, rules.call_kind),
            ).fetchall()
        if not rows:
            raise ValueError(f"app {app.app_key} has no active bindings to call through")
        names, chances = list(weights), list(weights.values())
        # Transactions of BULK_CHUNK calls, so binds keep being served during a big batch.
        for first in range(0, count, BULK_CHUNK):
            with self.store.tx() as db:
                for i in range(first, min(count, first + BULK_CHUNK)):
                    row = rows[i % len(rows)]
                    caller, dialled, ext = rules.bulk_parties(row, i)
                    route = self.route(db, caller, dialled, ext=ext)
                    outcome = self._outcome(random.choices(names, chances)[0])
                    outcome, talk = self._apply_route(route, outcome, random.randint(low, high))
                    session_id = self.new_session_id()
                    self._finish_now(db, route, outcome, session_id, talk, 5, events=with_events)
                    sessions.append(session_id)
        return {"placed": count, "bindings": len(rows), "sessionIds": sessions[:1000]}
