"""Pages of another origin (another loopback port) for the widget to be embedded in, as a customer's site would."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(html: str):
    """Serve `html` at a loopback address until the generator is closed; yields the page's URL.

    A real server, not a Playwright route: Chromium lets a page load scripts from loopback only when
    the page itself comes from loopback (Private Network Access).
    """
    page = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
