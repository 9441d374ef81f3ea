#!/usr/bin/env python3
"""Regression test of finding 11 of the operations review: the status page
called a foreign leader "(this node)".

The page compared the leader's id with this daemon's id, so another node
with the same id (ids are free text; nothing makes them unique) showed as
this node. It must compare ZooKeeper node names, which are unique.

Serves src/http/status_page.html and a fixed /status answer from a local
HTTP server on a free port, opens the page in headless Chromium (as
status_page_driver.py does) and reads the leader field, for a foreign leader
with this node's id and for this node leading.

    status_page_foreign_leader_test.py STATUS_PAGE_HTML
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]

OWN_NODE = "/zkelect/default/n_0000000002"
FOREIGN_NODE = "/zkelect/default/n_0000000001"


def status(leader_node):
    """A /status answer of node "web-1" whose leader, also called "web-1",
    owns `leader_node`."""
    return {
        "id": "web-1", "role": "leader" if leader_node == OWN_NODE else "follower",
        "index": 7, "ready": True, "version": "test",
        "leader": {"id": "web-1", "address": "10.0.0.1:80", "epoch": 3, "node": leader_node,
                   "since": "2026-01-01T00:00:00Z"},
        "session": {"state": "connected", "id": "0x1"},
        "election": {"path": "/zkelect/default", "own_node": OWN_NODE,
                     "candidates": [FOREIGN_NODE, OWN_NODE]},
        "recent_transitions": [],
    }


def serve(page, answer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/":
                body, kind = page, "text/html; charset=utf-8"
            elif url.path == "/status":
                if "index=" in url.query:
                    time.sleep(2)  # a long-poll with nothing new
                body, kind = json.dumps(answer[0]).encode(), "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def leader_text(driver, url, timeout=30):
    driver.get(url)
    deadline = time.monotonic() + timeout
    while True:
        text = driver.execute_script("return document.getElementById('leader-id').textContent")
        if text.startswith("web-1"):
            return text
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for the leader; shows {text!r}")
        time.sleep(0.05)


def main():
    with open(sys.argv[1], "rb") as f:
        page = f.read()
    answer = [status(FOREIGN_NODE)]
    server = serve(page, answer)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    failures = []
    try:
        shown = leader_text(driver, url)
        print(f"foreign leader with this node's id: {shown!r}")
        if "this node" in shown:
            failures.append(f"a foreign leader (node {FOREIGN_NODE}) shows as {shown!r}")
        answer[0] = status(OWN_NODE)
        shown = leader_text(driver, url)
        print(f"this node leading: {shown!r}")
        if shown != "web-1 (this node)":
            failures.append(f"this node leading shows as {shown!r}, expected 'web-1 (this node)'")
    finally:
        driver.quit()
        server.shutdown()
    for failure in failures:
        print("FAILED: " + failure, file=sys.stderr)
    if failures:
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
