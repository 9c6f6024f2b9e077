"""A webhook receiver for the benchmarks, as its own process: ``python -m bench._receiver SECRET``.

It prints its port, then answers every POST 204 after verifying the Standard Webhooks signature
(a bad one: 400), keeps each ``webhook-id`` it accepted per endpoint (its path), and answers
``GET /count`` with "<unique accepted> <requests> <bad signatures>". HTTP/1.1 with keep-alive,
as a real receiver behind a load balancer would be. Its CPU is reported apart from the console's.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main(secret: str) -> None:
    verifier = Webhook(secret)
    accepted: set[str] = set()
    counts = {"requests": 0, "bad": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                verifier.verify(body, dict(self.headers.items()))
                code = 204
            except WebhookVerificationError:
                code = 400
            with lock:
                counts["requests"] += 1
                if code == 204:
                    accepted.add((self.path, self.headers["webhook-id"]))  # per endpoint
                else:
                    counts["bad"] += 1
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                text = f"{len(accepted)} {counts['requests']} {counts['bad']}".encode()
            self.send_response(200)
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
