"""The full business login under load: each thread is one user logging in again
and again with a fresh browser (no cookies, so no single sign-on shortcut):
authorize → identifier → password → SMS code → code → token (``bench.browser``).

    python -m bench.login_load CONFIG.json --duration 10 --warmup 2

CONFIG holds the relying party, the users (with their permanent passwords) and
the SMS gateway stub's URL. Logins that end within the measured window count;
the rate is those per second. Prints one JSON document.
"""

import argparse
import json
import threading
import time

from bench.browser import Browser
from bench.browser import LoginError
from bench.browser import Party
from bench.browser import User
from bench.stats import summary_ms


def user_loop(party, sms_url, user, window, finished, errors):
    start, end = window
    while time.monotonic() < end:
        began = time.monotonic()
        try:
            Browser(party, sms_url).log_in(user)
        except (LoginError, OSError) as error:
            errors.append(f"{user.identifier}: {error}")
            time.sleep(0.05)
            continue
        ended = time.monotonic()
        if start <= ended <= end:
            finished.append(ended - began)


def run(config, duration, warmup):
    party = Party(**config["party"])
    users = [User(**user) for user in config["users"]]
    start = time.monotonic() + warmup
    window, finished, errors = (start, start + duration), [], []
    threads = [threading.Thread(target=user_loop, args=(party, config["sms_url"], user, window, finished, errors))
               for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rate": len(finished) / duration, "count": len(finished), "failures": len(errors),
            "errors": errors[:5], "threads": len(users), **summary_ms(finished)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    print(json.dumps(run(config, args.duration, args.warmup)))


if __name__ == "__main__":
    main()
