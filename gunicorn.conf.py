"""gunicorn settings, read automatically when gunicorn starts in the project
root (``gunicorn wsgi:app``). Command-line options still take precedence."""

import os
import shutil
import sys
import tempfile

#: Prometheus multiprocess mode (README "Observability"): each worker writes its metrics to
#: files in this directory and /metrics adds up every worker's, whichever one answers. Set
#: here, before anything imports prometheus_client, so the master and every worker it forks
#: have it; unset, a directory of this run's own is made (and removed at exit).
METRICS_DIR_CREATED = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if METRICS_DIR_CREATED:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="idp-metrics-")

#: SIGTERM (a deploy, a scale-down): the master stops accepting connections and each worker
#: finishes the request in hand, then exits; one still busy after this many seconds is killed.
#: The slowest requests wait on an outside service - the SMS gateway (5 s), the mail server
#: (10 s), Facebook - and 20 s covers them while staying under the 30 s Kubernetes gives a pod
#: (terminationGracePeriodSeconds) before it kills it itself.
graceful_timeout = 20


def on_starting(server):
    """Check the configuration once in the master, before it binds or forks.

    A refused production setting (DESIGN.md §5) is then one line on stderr and
    exit status 2, instead of every worker failing to import ``wsgi`` and being
    restarted forever.
    """
    from idp import create_app
    from idp.errors import ConfigurationError

    clear_metrics_dir()
    try:
        create_app()
    except ConfigurationError as error:
        print(f"idp: configuration error: {error}", file=sys.stderr, flush=True)
        if server.pidfile is not None:
            server.pidfile.unlink()
        on_exit(server)
        sys.exit(2)


def clear_metrics_dir():
    """Counts of an earlier run would be added to this one's: the directory starts empty."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    """A worker that exited (recycled, killed) keeps its counts; its live gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """The directory this run made goes with it."""
    if METRICS_DIR_CREATED:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
