"""The `ingestd` command line as the tests run it: in the test's own process where that gives
the same answer as a new one, in a new process where it might not.

A new process costs about half a second of imports, and the suite runs the command line
about a thousand times; most of those calls are a list, a show or a small change whose whole
work is a few queries. Those run through `ingestd.cli.main` here, with the command's
environment, arguments, empty stdin, captured stdout/stderr and exit code exactly as a child
process would have them. A new process is kept for what a process of its own is the point
of: the daemon, a worker that waits for a signal, a fault injected at start-up
(INGESTD_FAILPOINTS is read when the module is imported), an environment that differs
beyond ingestd's own variables (a PATH without a tool, faketime), and a timeout the test
relies on."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import subprocess
import sys

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _needs_own_process(args: tuple[str, ...], env: dict[str, str]) -> bool:
    if os.environ.get("INGESTD_TEST_SUBPROCESS") == "1":
        return True
    words = tuple(a for a in args if not a.startswith("-"))
    if words[:1] == ("run",) or (words[:2] == ("jobs", "work") and "--until-idle" not in args):
        return True
    if env.get("INGESTD_FAILPOINTS"):
        return True
    return _outside(env) != _outside(os.environ)


def _outside(env) -> dict[str, str]:
    """The environment beyond ingestd's own variables and pytest's note of the running test."""
    return {k: v for k, v in env.items() if not k.startswith("INGESTD_") and k != "PYTEST_CURRENT_TEST"}


def run_ingestd(args: tuple[str, ...] | list[str], env: dict[str, str],
                timeout: float | None = 300) -> subprocess.CompletedProcess:
    args = tuple(args)
    if _needs_own_process(args, env):
        return subprocess.run([sys.executable, "-m", "ingestd", *args], env=env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return _in_this_process(args, env)


def _in_this_process(args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess:
    from ingestd.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env = dict(os.environ)
    saved_argv = sys.argv
    saved_stdin = sys.stdin
    logger = logging.getLogger("ingestd")
    saved_log = (list(logger.handlers), logger.level, logger.propagate)
    saved_signals = {s: signal.getsignal(s) for s in _SIGNALS}
    code: int | str | None = 0
    try:
        os.environ.clear()
        os.environ.update(env)
        sys.argv = ["ingestd", *args]
        sys.stdin = io.StringIO("")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        sys.stdin = saved_stdin
        logger.handlers[:], logger.level, logger.propagate = saved_log
        for s, handler in saved_signals.items():
            signal.signal(s, handler)
    if code is None:
        code = 0
    elif not isinstance(code, int):
        err.write(f"{code}\n")
        code = 1
    return subprocess.CompletedProcess(["ingestd", *args], code, out.getvalue(), err.getvalue())
