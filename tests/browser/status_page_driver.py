#!/usr/bin/env python3
"""Drives zkelect's status page in headless Chromium through a leader change.

Opens the page of one daemon, waits until it shows `--old-leader`, takes a
screenshot, POSTs /resign to the leader's daemon, waits (without reloading
the page) until the page shows another leader, takes a second screenshot, and
prints one JSON object with what the page showed before and after, whether
the page is still the same document (it never reloaded) and the browser's
console messages (a Content-Security-Policy violation would show there).

The test that runs this (status_page_browser_test.cc) makes the assertions;
this script only fails when the browser cannot be driven or a wait times out.
"""

import argparse
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1200,900",
]

FIELDS = ["node-id", "role", "leader-id", "leader-address", "leader-epoch", "leader-node",
          "session", "live"]


def page_view(driver):
    """The text of every field, the candidates and the transitions."""
    return driver.execute_script(
        """
        const view = {};
        for (const id of arguments[0]) view[id] = document.getElementById(id).textContent;
        view.candidates = [...document.querySelectorAll('#candidates li')].map(e => e.textContent);
        view.transitions = [...document.querySelectorAll('#transitions tr')]
            .map(r => [...r.children].map(c => c.textContent));
        view.marker = window.__zkelect_test_marker || null;
        return view;
        """, FIELDS)


def wait_for(driver, predicate, timeout, what):
    deadline = time.monotonic() + timeout
    view = page_view(driver)
    while not predicate(view):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for {what}; page: {json.dumps(view)}")
        time.sleep(0.05)
        view = page_view(driver)
    return view


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the status page of the daemon to watch")
    parser.add_argument("--resign-url", required=True, help="POST /resign of the current leader")
    parser.add_argument("--old-leader", required=True, help="id of the current leader")
    parser.add_argument("--profile", required=True, help="a fresh --user-data-dir")
    parser.add_argument("--before-png", required=True)
    parser.add_argument("--after-png", required=True)
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args()

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS + ["--user-data-dir=" + args.profile]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(args.timeout)
        driver.get(args.url)
        before = wait_for(driver, lambda v: v["leader-id"].startswith(args.old_leader),
                          args.timeout, f"leader {args.old_leader}")
        # Survives only as long as the document does: proves there was no reload.
        driver.execute_script("window.__zkelect_test_marker = 'same-document';")
        driver.save_screenshot(args.before_png)

        request = urllib.request.Request(args.resign_url, data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=args.timeout) as answer:
            resign_status = answer.status
        changed_at = time.monotonic()
        after = wait_for(driver,
                         lambda v: v["leader-id"] not in ("–", "none")
                         and not v["leader-id"].startswith(args.old_leader),
                         args.timeout, "another leader")
        seconds_to_show = time.monotonic() - changed_at
        time.sleep(0.2)  # let the last long-poll answer settle before the picture
        after = page_view(driver)
        driver.save_screenshot(args.after_png)
        console = [entry.get("message", "") for entry in driver.get_log("browser")]
    finally:
        driver.quit()

    json.dump({"before": before, "after": after, "resign_status": resign_status,
               "seconds_to_show": seconds_to_show, "console": console}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
