"""``--profile PHASE``: a py-spy flame graph of the gunicorn workers while one
measured phase runs (``py-spy record --subprocesses --idle`` on the master; idle
samples included, so waiting for PostgreSQL or Redis shows). ``--profile-format
raw`` writes collapsed stacks instead, for grep and scripts.

py-spy samples from outside the process (ptrace), so the code under load is not
changed, but sampling costs some CPU: a profiled phase's figures are marked in
the table and are not the ones to compare.
"""

import shutil
import subprocess
import sys
from contextlib import contextmanager
from contextlib import nullcontext
from pathlib import Path

#: py-spy's output formats and the file endings they get.
FORMATS = {"flamegraph": "svg", "speedscope": "json", "raw": "txt"}


class Profiler:
    def __init__(self, phases, outdir, stamp, output_format="flamegraph"):
        self.phases, self.outdir, self.stamp = set(phases or ()), Path(outdir), stamp
        self.format = output_format
        self.written = []

    def wanted(self, phase):
        return phase in self.phases

    def around(self, phase, pid, seconds):
        return self._record(phase, pid, seconds) if self.wanted(phase) else nullcontext()

    @contextmanager
    def _record(self, phase, pid, seconds):
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        output = self.outdir / f"profile-{self.stamp}-{phase}.{FORMATS[self.format]}"
        recorder = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--idle",
                                     "--duration", str(int(seconds)), "--rate", "200", "--format", self.format,
                                     "--output", str(output)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            yield
        finally:
            _, errors = recorder.communicate(timeout=seconds + 60)
            if output.exists():
                self.written.append(output)
            else:
                print(f"py-spy wrote no profile: {errors.decode(errors='replace')[-300:]}", file=sys.stderr)
