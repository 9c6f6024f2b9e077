"""A webhook receiver on loopback for the tests: verifies every request with the
``standardwebhooks`` verifier, fails a share of them on purpose, and can be restarted."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    """``accepted[msg_id]`` counts the requests answered 2xx (what the receiver kept);
    ``bad`` counts requests whose signature did not verify."""

    def __init__(self, secret: str, *, fail_rate: float = 0.0, delay: float = 0.0, seed: int = 7):
        self.secret = secret
        self.fail_rate = fail_rate
        self.delay = delay
        self.random = random.Random(seed)
        self.accepted: Counter[str] = Counter()
        self.events: dict[str, dict] = {}
        self.by_type: defaultdict[str, set[str]] = defaultdict(set)
        self.requests = 0
        self.bad = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.requests += 1
                    try:
                        Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                    except WebhookVerificationError:
                        receiver.bad += 1
                        code = 400
                    else:
                        if receiver.random.random() < receiver.fail_rate:
                            code = 500
                        else:
                            code = 204
                            msg_id = self.headers["webhook-id"]
                            receiver.accepted[msg_id] += 1
                            event = json.loads(body)
                            receiver.events[msg_id] = event
                            receiver.by_type[event["type"]].add(msg_id)
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def restart(self, down_for: float = 0.5) -> None:
        """Stop, stay down a while (deliveries fail: connection refused), start on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()
