"""Fitting in a short-lived child process, so the worker never imports scikit-learn or scipy.

Those two cost the serving process ~95 MB resident for good, while fitting runs for seconds a day. The
child is the same interpreter running `python -m <module>`: the request goes in as a pickle on stdin,
the result (numpy arrays and this package's numpy-only classes) comes back as a pickle on stdout; the
exit reclaims every temporary. Under gevent the standard library's subprocess is the cooperative one,
so the loop serves sockets while the child works.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

# The folder holding the `handoff` package, for a child started from any working directory.
_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


class FitFailed(RuntimeError):
    """The child failed or ran out of time: `cause` and `fix` are key=value words for the log."""

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(f"{cause} fix={fix!r}")
        self.cause, self.fix = cause, fix


def run(module: str, request, timeout: float):
    """`python -m module` with `request`; its result. Raises FitFailed."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_SOURCE_ROOT, os.environ.get("PYTHONPATH")])))
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", module], input=pickle.dumps(request, protocol=5),
                              capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise FitFailed(f"cause=timeout module={module} seconds={timeout:.0f}",
                        "the machine was too busy or the data too large: check the load and the data's size; "
                        "the limit is the caller's FIT_TIMEOUT_SECONDS") from None
    except OSError as exc:
        raise FitFailed(f"cause=spawn module={module} error={exc.__class__.__name__}",
                        f"the interpreter {sys.executable} must be runnable by this process") from None
    if done.returncode != 0:
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise FitFailed(f"cause=exit module={module} code={done.returncode} seconds={time.monotonic() - started:.1f} "
                        f"error={last[:300]!r}",
                        "read the child's error above; a missing module means the environment lacks "
                        "scikit-learn (requirements/app.in)")
    try:
        return pickle.loads(done.stdout)
    except (pickle.UnpicklingError, EOFError, ImportError, AttributeError) as exc:
        raise FitFailed(f"cause=output module={module} error={exc.__class__.__name__}",
                        "the module must end in child.serve(), and write nothing else to stdout") from None


def serve(fit: Callable) -> None:
    """The child's main: the request from stdin, fit(request) to stdout. Anything else written to
    stdout (a library's print) goes to stderr, so it cannot corrupt the pickle."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    result = fit(pickle.load(sys.stdin.buffer))
    out.write(pickle.dumps(result, protocol=5))
    out.flush()
