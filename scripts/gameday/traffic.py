#!/usr/bin/env python3
"""Steady game-day traffic against one API (Python standard library only).

  traffic.py BASE_URL API_KEY CODES_FILE [--rate 40] [--create-every 20] [--threads 32]

Sends --rate requests per second, spread over --threads keep-alive connections so that injected
latency does not slow the rate down: GET /{code} for the codes in CODES_FILE (one a line, never
following the redirect), and every --create-every-th request a POST /api/links. Runs until
SIGTERM/SIGINT; every 10 s it prints the status codes seen (000 = no answer).
"""

import argparse
import collections
import http.client
import json
import signal
import sys
import threading
import time
import urllib.parse


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url")
    parser.add_argument("api_key")
    parser.add_argument("codes_file")
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--create-every", type=int, default=20)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()

    url = urllib.parse.urlsplit(args.base_url)
    codes = [line.strip() for line in open(args.codes_file, encoding="utf-8") if line.strip()]
    if not codes:
        sys.exit("traffic.py: no codes")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    lock = threading.Lock()
    counts = collections.Counter()
    start = time.monotonic()
    interval = args.threads / args.rate  # each thread's period; threads are staggered

    def run(index):
        connection = None
        n = 0
        while not stop.is_set():
            due = start + (index + n * args.threads) / args.rate
            n += 1
            delay = due - time.monotonic()
            if delay > 0:
                if stop.wait(delay):
                    break
            elif delay < -interval:
                continue  # fell behind (a slow answer): skip the slot rather than bursting
            sequence = index + n * args.threads
            if args.create_every and sequence % args.create_every == 0:
                method, path = "POST", "/api/links"
                body = json.dumps({"url": f"https://example.com/gameday/{sequence}"})
                headers = {"Authorization": f"Bearer {args.api_key}", "Content-Type": "application/json"}
            else:
                method, path, body, headers = "GET", "/" + codes[sequence % len(codes)], None, {}
            status = "000"
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = str(response.status)
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                if connection is not None:
                    connection.close()
                connection = None
            with lock:
                counts[status] += 1

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    while not stop.wait(10):
        with lock:
            snapshot = dict(counts)
            counts.clear()
        summary = " ".join(f"{code}:{count}" for code, count in sorted(snapshot.items()))
        print(f"{time.strftime('%H:%M:%S')} last 10 s: {summary or 'nothing'}", flush=True)
    for thread in threads:
        thread.join(timeout=12)


if __name__ == "__main__":
    main()
