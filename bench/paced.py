"""Latency at a fixed request rate (open loop), for "p99 at half of the peak".

wrk is closed-loop: with fewer connections it also sends less, but every slow
answer delays the next request, so the slow moments are sampled less often than
they happen (coordinated omission) and the rate is whatever results. wrk2, which
paces, is not in Debian. This sends requests on a fixed schedule - request i at
start + i/rate, whatever happened before - from a pool of threads, one new
connection each (gunicorn's sync worker closes it after every answer anyway),
and measures each latency from the moment the request *should* have been sent.
A request that waits for a free thread therefore counts its wait, as a real
client's would.

    python -m bench.paced URL --rate 120 --duration 10 --body grant_type=client_credentials \
        --header "Authorization: Basic ..."

Prints one JSON document: rate achieved, p50/p99 in ms, failures.
"""

import argparse
import http.client
import json
import queue
import threading
import time
from urllib.parse import urlsplit

from bench.stats import summary_ms

THREADS = 64


def send(url, body, headers):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", parts.path, body, headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def worker(schedule, results, url, body, headers):
    while (due := schedule.get()) is not None:
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        status = send(url, body, headers)
        results.append((time.monotonic() - due, status))


def run(url, rate, duration, body, headers):
    schedule, results = queue.Queue(), []
    start = time.monotonic() + 0.5
    count = int(rate * duration)
    for i in range(count):
        schedule.put(start + i / rate)
    for _ in range(THREADS):
        schedule.put(None)
    threads = [threading.Thread(target=worker, args=(schedule, results, url, body, headers)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    latencies = [latency for latency, status in results if status == 200]
    statuses = {}
    for _, status in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"rate": len(results) / elapsed, "target_rate": rate, "count": len(results),
            "failures": sum(1 for _, status in results if status != 200), "statuses": statuses,
            **summary_ms(latencies)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers.update(line.split(": ", 1) for line in args.header)
    print(json.dumps(run(args.url, args.rate, args.duration, args.body, headers)))


if __name__ == "__main__":
    main()
