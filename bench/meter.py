"""What a server spends while a load runs: CPU and memory, read with psutil.

Server CPU is the CPU time (user + system) of the server's whole process tree -
gunicorn's master and workers, or the Node process - divided by the wall time:
1.00 means one core busy all along. Database CPU is that of the PostgreSQL
backends connected to the bench database. Other CPU is what the rest of the
machine kept busy meanwhile (everything but idle, less server, database and
load generator): on a quiet machine near zero, and when it is not, the figures
of that phase are disturbed. Worker RSS is the largest resident set of a worker
(the Node process itself), sampled four times a second; it counts the pages a
gunicorn worker still shares with its master, so beside it the largest USS (the
memory only that worker holds, what one more worker costs), read at the end.
"""

import resource
import threading
import time

import psutil

from bench.environment import DATABASE


def _cpu_seconds(process):
    times = process.cpu_times()
    return times.user + times.system


def _machine_busy_seconds():
    """CPU time of all processes on the machine. Interrupt and softirq time is left out:
    it is mostly the kernel carrying this benchmark's own loopback traffic."""
    times = psutil.cpu_times()
    return times.user + times.nice + times.system


def _database_backends():
    """PostgreSQL backends of the bench database ("postgres: 15/main: postgres idp_bench …")."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if cmdline.startswith("postgres:") and f" {DATABASE} " in cmdline:
            found.append(process)
    return found


def _cpu_of(processes):
    seen = {}
    for process in processes:
        try:
            seen[process.pid] = _cpu_seconds(process)
        except psutil.NoSuchProcess:
            pass
    return seen


def _spent(before, after):
    # A process started during the phase (a worker replaced after a crash, a new pooled
    # database connection) counts from zero.
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


class ServerMeter:
    """``with ServerMeter(pid) as meter: …`` then ``meter.cpu_cores``, ``meter.worker_rss_mb``."""

    def __init__(self, root_pid, interval=0.25):
        self.root = psutil.Process(root_pid)
        self.interval = interval
        self.cpu_cores = self.worker_rss_mb = self.worker_uss_mb = None
        self.database_cpu_cores = self.machine_cpu_cores = None
        self._stop = threading.Event()

    def _tree(self):
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _workers(self):
        try:
            return self.root.children(recursive=True) or [self.root]
        except psutil.NoSuchProcess:
            return []


    def _sample_rss(self):
        while not self._stop.wait(self.interval):
            self._record_rss()

    def _record_rss(self):
        for process in self._workers():
            try:
                self._max_rss = max(self._max_rss, process.memory_info().rss)
            except psutil.NoSuchProcess:
                pass

    def __enter__(self):
        self._max_rss = 0
        self._cpu_before, self._database_before = _cpu_of(self._tree()), _cpu_of(_database_backends())
        self._machine_before, self._wall_before = _machine_busy_seconds(), time.monotonic()
        self._record_rss()
        self._sampler = threading.Thread(target=self._sample_rss, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc):
        wall = max(time.monotonic() - self._wall_before, 1e-9)
        server = _spent(self._cpu_before, _cpu_of(self._tree()))
        database = _spent(self._database_before, _cpu_of(_database_backends()))
        machine = _machine_busy_seconds() - self._machine_before
        self._stop.set()
        self._sampler.join()
        self._record_rss()
        self.cpu_cores, self.database_cpu_cores = server / wall, database / wall
        self.machine_cpu_cores = machine / wall
        self.worker_rss_mb = self._max_rss / 2**20
        self.worker_uss_mb = self._max_uss() / 2**20
        return False

    def _max_uss(self):
        largest = 0
        for process in self._workers():
            try:
                largest = max(largest, process.memory_full_info().uss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return largest


class ClientMeter:
    """CPU time of the load generator: the children this process waited for meanwhile
    (``wrk`` or a Python load script, each run to its end inside the ``with``)."""

    def __enter__(self):
        self._before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._wall = time.monotonic()
        return self

    def __exit__(self, *exc):
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent = (after.ru_utime - self._before.ru_utime) + (after.ru_stime - self._before.ru_stime)
        wall = time.monotonic() - self._wall
        self.cpu_cores = spent / wall if wall > 0 else 0.0
        return False
