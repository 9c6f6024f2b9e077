"""Private SMS (spec §6.4): the notices an SMS through X produces, and the Block flow.

Whom an SMS reaches is decided by the rules of the X's mode (``simulator/modes``), where the mode
table says it has private SMS at all. Notify notices just tell the customer what was forwarded. A
Block notice asks: the platform waits for the customer's answer (``actions`` with ``vNumberRoute``
or ``DiscardMessage``; the unwrapped form of Huawei's Node sample is accepted too) and, when told
to forward, sends the Notify that follows.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

from privatenumber.modes import MODES
from simulator import unconfirmed
from simulator.config import AppConfig
from simulator.platform import Platform
from simulator.pushes import PushQueue
from simulator.store import Store
from simulator.validate import Fields

logger = logging.getLogger(__name__)


def sms_timestamp() -> str:
    """``yyyy-MM-ddTHH:mm:ss.SSSZ`` in UTC."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _ext_info(direction: str, content: str) -> dict[str, Any]:
    """``extInfo.extParas`` of a notice: parts of the SMS and its direction (spec §6.4)."""
    parts = 0 if len(content) <= unconfirmed.SMS_PART_CHARACTERS else -(-len(content) // 67)
    return {
        "extParas": [
            {"key": unconfirmed.SMS_EXT_SPLIT_NUM, "value": str(parts)},
            {"key": unconfirmed.SMS_EXT_DIRECTION, "value": direction},
        ]
    }


class SmsEngine:
    """Routes one SMS sent to an X and queues its notices."""

    def __init__(self, platform: Platform, store: Store, pushes: PushQueue) -> None:
        self.platform = platform
        self.store = store
        self.pushes = pushes
        pushes.hooks["sms"] = self._block_answer

    def _notice(
        self,
        app: AppConfig,
        mode: str,
        *,
        sms_id: str,
        calling: str,
        called: str | None,
        x: str,
        binding_id: str | None,
        content: str,
        direction: str = "2",
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "smsIdentifier": sms_id,
            "notificationMode": mode,
            "calling": calling,
            "virtualNumber": x,
            "event": unconfirmed.SMS_EVENT_TEXT,
            "timeStamp": sms_timestamp(),
        }
        if called is not None:
            event["called"] = called
        if binding_id:
            event["subscriptionId"] = binding_id
        if app.sms_content:
            event["smsContent"] = content
        event["extInfo"] = _ext_info(direction, content)
        event["sendResult"] = unconfirmed.SMS_SEND_RESULT
        return {"appKey": app.app_key, "smsEvent": event}

    def send(self, spec: dict[str, Any]) -> dict[str, Any]:
        """An SMS from ``from`` to the X ``to``; returns what the platform did with it."""
        f = Fields(spec)
        sender = f.req_number("from")
        x = f.req_number("to")
        content = f.string("content", min_len=0, max_len=1000) or ""
        sms_id = uuid.uuid4().hex
        with self.store.tx() as db:
            number = db.execute("SELECT * FROM numbers WHERE number=?", (x,)).fetchone()
            if number is None:
                raise ValueError(f"{x} is not an X of any application")
            app = self.platform.app(number["app_key"])
            if app is None or not app.sms or not MODES[app.mode].sms:
                return {"smsIdentifier": sms_id, "result": "dropped", "reason": "no SMS service"}
            if number["status"] in ("9", "10"):
                return {"smsIdentifier": sms_id, "result": "dropped", "reason": "X unavailable"}
            if MODES[app.mode].asks_customer:
                return self._block(db, app, sender, content, None, sms_id, x)
            route = self.platform.rules(app.mode).route_sms(db, x, sender, content)
            if route is None or json.loads(route.binding["data"]).get("privateSms") == "false":
                return {"smsIdentifier": sms_id, "result": "dropped", "reason": "no binding"}
            row = route.binding
            if route.called is None:
                return self._block(db, app, sender, content, row["id"], sms_id, x)
            called, content = route.called, route.content
            direction = "1" if sender == row["a"] else "0"  # A→B, B→A (UNCONFIRMED values)
            body = self._notice(
                app,
                "Notify",
                calling=sender,
                called=called,
                binding_id=row["id"],
                content=content,
                sms_id=sms_id,
                x=x,
                direction=direction,
            )
            push = self.pushes.enqueue(db, app, "sms", body)
        return {
            "smsIdentifier": sms_id,
            "result": "forwarded",
            "called": called,
            "notifyPush": push,
        }

    def _block(
        self,
        db: sqlite3.Connection,
        app: AppConfig,
        sender: str,
        content: str,
        binding_id: str | None,
        sms_id: str,
        x: str,
    ) -> dict[str, Any]:
        body = self._notice(
            app,
            "Block",
            calling=sender,
            called=None,
            binding_id=binding_id,
            content=content,
            sms_id=sms_id,
            x=x,
        )
        context = {
            "content": content,
            "bindingId": binding_id,
            "sms_id": sms_id,
            "x": x,
            "calling": sender,
        }
        push = self.pushes.enqueue(db, app, "sms", body, block=True, context=context)
        return {"smsIdentifier": sms_id, "result": "waiting", "blockPush": push}

    def _block_answer(self, push: sqlite3.Row, status: int | None, answer: bytes) -> None:
        """The customer's decision on a Block notice (Notify notices carry no context)."""
        if push["context"] is None or status is None:
            return
        context = json.loads(push["context"])
        try:
            decision = json.loads(answer.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            logger.info("SMS %s: Block answer is not JSON; discarded", context["sms_id"])
            return
        actions = decision.get("actions") if isinstance(decision, dict) else None
        if actions is None and isinstance(decision, dict):
            actions = [decision]
        action = actions[0] if isinstance(actions, list) and actions else {}
        message = action.get("message") if isinstance(action, dict) else None
        if action.get("operation") != "vNumberRoute" or not isinstance(message, dict):
            logger.info("SMS %s: discarded by the customer", context["sms_id"])
            return
        called = message.get("called")
        if not isinstance(called, str) or message.get("calling") != context["calling"]:
            logger.info("SMS %s: invalid vNumberRoute answer; discarded", context["sms_id"])
            return
        app = self.platform.app(push["app_key"])
        if app is None:
            return
        body = self._notice(
            app,
            "Notify",
            sms_id=context["sms_id"],
            calling=context["calling"],
            called=called,
            x=context["x"],
            binding_id=context.get("bindingId"),
            content=context["content"],
        )
        with self.store.tx() as db:
            self.pushes.enqueue(db, app, "sms", body)
