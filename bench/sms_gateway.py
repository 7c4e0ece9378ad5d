"""A stand-in for the operator's SMS gateway (``IDP_SMS_BACKEND=http``), so the
server under load runs with its production SMS backend.

``POST /send`` takes what ``HttpGatewaySmsSender`` sends (``{"to", "from",
"text"}`` with a bearer token) and keeps the newest text per number;
``GET /last?to=+36...`` gives it back, which is how the login load reads its SMS
code. A separate process, so that neither the server nor the load generator
pays for it in their own CPU figures.

    python -m bench.sms_gateway PORT TOKEN
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from urllib.parse import urlsplit

newest = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    token = ""

    def do_POST(self):
        if urlsplit(self.path).path != "/send" or self.headers.get("Authorization") != f"Bearer {self.token}":
            return self.answer(404 if urlsplit(self.path).path != "/send" else 401, {})
        message = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        with lock:
            newest[message["to"]] = message["text"]
        self.answer(200, {"status": "accepted"})

    def do_GET(self):
        url = urlsplit(self.path)
        to = parse_qs(url.query).get("to", [""])[0]
        with lock:
            text = newest.get(to)
        if url.path != "/last" or text is None:
            return self.answer(404, {})
        self.answer(200, {"to": to, "text": text})

    def answer(self, status, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    port, Handler.token = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
