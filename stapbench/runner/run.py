"""A live stap run: start, stream into the transcript and the parser, stop, clean up.

:class:`Run` is the driver (start → ready → trigger → stop → finished): it owns stap's
process, the reader thread, the timers, the trigger, the stop escalation and the
clean-up.  What the run produces is its :class:`~stapbench.runner.record.RunRecord`
(``run.record``; its fields read as the run's own).  The reader thread moves bytes from
stap's pty and stderr pipe into the run folder as they arrive, then into the
:class:`~stapbench.runner.pipeline.ParsePipeline` (marker filter, one parser per
stream, the ``on_event`` callbacks).  :func:`replay` puts a run folder through the
same pipeline.

Nothing is left running: stap's process group is stopped on :meth:`Run.stop`, timeout,
KeyboardInterrupt in :meth:`Run.wait`, interpreter exit and SIGTERM (``cleanup``), and
by the watchdog process if this process is killed.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from ..model import Event
from . import cleanup
from .lint import bpf_format_note
from .marker import new_marker, script_with_marker
from .options import RunOptions, build_stap_argv
from .pipeline import IDLE_FLUSH_S, ParsePipeline, call_each
from .process import StapProcess, group_members, is_alive, signal_group, spawn_stap, stop_group, wait_group_gone
from .record import RunRecord
from .remote import RemoteError, resolve_targets, stap_launcher, stop_in_labs
from .sudo import await_start, is_root, needs_password, new_prompt, sudo_argv
from .supervisor import import_path, supervisor_argv
from .transcript import SCRIPT, TranscriptWriter, new_run_dir, prepare_record_dir
from .program import ProgramOutput
from .trigger import Trigger, trigger_failure
from .uprobes import cleanup_note, remove_stale_stap_uprobes
from .watchdog import release_watchdog, start_watchdog

log = logging.getLogger(__name__)

#: after stap exited, keep reading this long for bytes still in flight
DRAIN_S = 0.5
READ_SIZE = 65536  # per os.read of stap's pty or pipe
#: how often a -x target is checked for having exited
TARGET_CHECK_S = 0.5
#: after stap ended: how long its killed helpers may take to be gone, and their uprobes to be free
GONE_S = 5.0
#: the least SIGINT grace for a run on --remote targets (see Run._grace)
REMOTE_GRACE_S = 30.0


class RunError(RuntimeError):
    pass


class _FromRecord:
    """A Run attribute that is its record's (``run.exit_status`` is ``run.record.exit_status``)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, run, owner=None):
        return self if run is None else getattr(run.record, self.name)

    def __set__(self, run, value):
        setattr(run.record, self.name, value)


class Run:
    """A live stap run (see the module doc).  Create, then :meth:`start`; or use :func:`run`.

    What the run produced is :attr:`record` (a :class:`RunRecord`); its fields read as the
    run's own: ``events`` (newest ``max_events``), ``diagnostics``, ``summaries``, ``notes``,
    ``exit_status``, ``stop_reason``, ``stop_signal``, ``folder``, ``argv``, ``text()``,
    ``raw(stream)``, ...  Callbacks (called on the reader thread; exceptions are caught,
    logged and kept in ``callback_errors``): ``on_event(event)``, ``on_trigger_output(bytes)``,
    ``on_program_output(bytes)`` (the ``-c`` program's own output, runner.program),
    ``on_ready(run)``, ``on_end(run)``, ``on_note(text)`` (stapbench's own remarks).
    """

    script = _FromRecord()
    folder = _FromRecord()
    argv = _FromRecord()
    marker = _FromRecord()
    trigger_argv = _FromRecord()
    program_argv = _FromRecord()
    events_total = _FromRecord()
    events_dropped = _FromRecord()
    diagnostics = _FromRecord()
    summaries = _FromRecord()
    notes = _FromRecord()
    started_at = _FromRecord()
    ready_at = _FromRecord()
    ended_at = _FromRecord()
    exit_status = _FromRecord()
    stop_reason = _FromRecord()
    stop_signal = _FromRecord()
    trigger_status = _FromRecord()
    trigger_output = _FromRecord()
    program_output = _FromRecord()
    replayed = _FromRecord()

    def __init__(self, script: str, options: RunOptions | None = None, **option_values):
        options = options.replace(**option_values) if options else RunOptions(**option_values)
        self._attach(RunRecord(script, options, marker=new_marker() if options.runs_probes else None))

    def _attach(self, record: RunRecord) -> None:
        self.record = record
        self._targets = []  # the --remote targets (runner.remote), once started
        self.options = record.options
        self.on_event: list[Callable[[Event], None]] = []
        self.on_trigger_output: list[Callable[[bytes], None]] = []
        self.on_program_output: list[Callable[[bytes], None]] = []
        self.on_ready: list[Callable[["Run"], None]] = []
        self.on_end: list[Callable[["Run"], None]] = []
        self.on_note: list[Callable[[str], None]] = []
        self.callback_errors: list[BaseException] = []
        self.ready = threading.Event()
        self.finished = threading.Event()
        self._pipeline: ParsePipeline | None = None  # made by start(), once the record says what to filter
        self._write_lock = threading.Lock()
        self._stop_lock = threading.Lock()
        self._proc: StapProcess | None = None
        self._watchdog: subprocess.Popen | None = None
        self._writer: TranscriptWriter | None = None
        self._trigger: Trigger | None = None
        self._program: ProgramOutput | None = None  # the -c program's own terminal (runner.program)
        self._stopper: threading.Thread | None = None
        self._timers: list[threading.Timer] = []
        self._reader: threading.Thread | None = None
        self._exited = False
        self._signals_sent: list[str] = []  # names, in order, of the signals that reached stap's group
        self._signals_at_exit: list[str] = []
        self._next_target_check = 0.0

    @classmethod
    def from_record(cls, record: RunRecord, *, ready: bool = False) -> "Run":
        """A finished Run that shows ``record`` (what :func:`replay` returns)."""
        run = cls.__new__(cls)
        run._attach(record)
        if ready or record.ready_at is not None:
            run.ready.set()
        run.finished.set()
        return run

    # --- public state --------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """stap's pid, which is also its process group and session id."""
        return self._proc.pid if self._proc else self.record.stap_pid

    @property
    def events(self) -> list[Event]:
        return self.record.events

    @property
    def supervised(self) -> bool:
        """stap runs under sudo, as the child of the privileged supervisor."""
        return self.record.supervisor_token is not None

    @property
    def running(self) -> bool:
        return self.started_at is not None and not self.finished.is_set()

    @property
    def ok(self) -> bool:
        return self.finished.is_set() and self.exit_status == 0

    def text(self) -> str:
        """The probe output kept in memory as text (TextLine events)."""
        return self.record.text()

    def raw(self, stream: str = "stdout") -> bytes:
        """The raw bytes of a stream from the transcript (marker line included)."""
        return self.record.raw(stream)

    def to_dataframe(self):
        """One row per event: time, probe, host, pid/tid, text and the printf line's
        ``key=value`` fields (:mod:`stapbench.answers.frames`; needs pandas)."""
        from ..answers.frames import to_dataframe

        return to_dataframe(self.events)

    def status_line(self) -> str:
        """One line on where the run is: shown above its output by every view."""
        if self.finished.is_set():
            return self.record.status_line()
        if self.started_at is None:
            return "[stap: starting]"
        state = "probes live" if self.ready.is_set() else "compiling"
        return f"[stap running, pid {self.pid}, {state}, {time.time() - self.started_at:.1f} s; %stap_stop ends it]"

    def __repr__(self) -> str:
        state = "running" if self.running else ("finished" if self.finished.is_set() else "new")
        return (f"<stapbench Run {state} exit_status={self.exit_status} events={self.events_total} "
                f"diagnostics={len(self.diagnostics)} folder={self.folder}>")

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> "Run":
        if self.started_at is not None:
            raise RunError("this run was already started")
        opts = self.options
        record = self.record
        record.folder = prepare_record_dir(opts.record) if opts.record else new_run_dir(opts.transcript_dir)
        if opts.pid is not None and not opts.remote and not is_alive(opts.pid):  # a remote -x is the target's pid
            why = f"-x {opts.pid}: there is no process {opts.pid} (stap was not started)"
            self._finish_without_process(why)
            raise RunError(why)
        script_path = record.folder / SCRIPT
        script_path.write_text(
            script_with_marker(self.script, self.marker, opts.runtime) if self.marker else self.script, encoding="utf-8")
        try:
            targets = self._targets = resolve_targets(opts.remote) if opts.remote else []
            # a lab's stap runs in the lab's rootfs (the launcher), seeing the script's folder
            launcher = stap_launcher(targets, [record.folder])
        except RemoteError as exc:
            self._finish_without_process(f"--remote: {exc}")
            raise RunError(f"--remote: {exc}") from exc
        record.hosts = [{"spec": t.spec, "url": t.url, "label": t.label,
                         "sysroot": str(t.sysroot) if t.sysroot else None} for t in targets]
        stap_argv = launcher + build_stap_argv(opts, script_path, [t.url for t in targets] if targets else None)
        if opts.runtime == "bpf" and not opts.check:
            note = bpf_format_note(self.script, opts.first_line)
            if note:
                self._note(note)
        env_add = dict(opts.env)
        shim = opts.shim_path()
        if shim:
            env_add["LD_PRELOAD"] = ":".join(p for p in (shim, os.environ.get("LD_PRELOAD")) if p)
        if opts.cmd is not None and not targets:  # (on a remote target the program runs there)
            self._program, why = ProgramOutput.open(opts.cmd, self._on_program_output)
            if why:
                self._note(why)
            if self._program is not None:
                env_add.update(self._program.env(env_add.get("LD_PRELOAD") or os.environ.get("LD_PRELOAD")))
        prompt = prompt_start = None
        if opts.use_sudo and not is_root():
            if opts.sudo_password is not None or needs_password(opts.sudo):
                prompt, prompt_start = new_prompt()
            record.supervisor_token = f"[stapbench-supervisor {secrets.token_hex(6)}]"
            record.argv = sudo_argv(opts.sudo, supervisor_argv(
                sys.executable, import_path(), token=record.supervisor_token, watch_pid=os.getpid(),
                grace=opts.grace, term_grace=opts.term_grace, env_add=env_add, stap_argv=stap_argv), prompt=prompt)
            env = dict(os.environ)
        else:
            record.argv = stap_argv
            env = {**os.environ, **env_add}
        self._pipeline = ParsePipeline(record, on_event=self.on_event, errors=self.callback_errors,
                                       note=self._note)
        record.started_at = time.time()
        record.write_meta()
        self._writer = TranscriptWriter(record.folder)
        if len(targets) > 1:
            self._pipeline.split_hosts(on_host_bytes=self._writer.write_host)
        try:
            self._proc = spawn_stap(self.argv, env)
        except Exception as exc:
            self._finish_without_process(f"could not start {self.argv[0]}: {exc}")
            raise RunError(f"could not start {self.argv[0]}: {exc}") from exc
        record.stap_pid = self._proc.pid
        cleanup.register(self)
        if opts.watchdog:
            try:
                self._watchdog = start_watchdog(self._proc.pid, self._grace(), opts.term_grace, record.folder)
            except OSError as exc:
                self._note(f"no watchdog ({exc}); stap is stopped at exit and on terminal hang-up only")
        initial = b""
        if self.supervised:
            try:
                await_start(self._proc.child, f"{record.supervisor_token} started".encode(), prompt_start,
                            opts.sudo_password)
            except BaseException as exc:  # no or a wrong password, Ctrl-C: leave nothing behind
                self._note(f"sudo: {exc or type(exc).__name__}")
                record.stop_reason = "error"
                self._kill_now()
                self._start_reader(b"")
                self.wait()
                if isinstance(exc, Exception):
                    raise RunError(f"sudo: {exc or type(exc).__name__}") from exc
                raise
            # bytes pexpect read past the started line are stap's: hand them on
            initial = bytes(self._proc.child.buffer)
            self._proc.child.buffer = b""
        self._start_reader(initial)
        if opts.timeout is not None:
            self._after(opts.timeout, lambda: self.stop(reason="timeout"))
        return self

    def wait(self, timeout: float | None = None) -> "Run":
        """Wait for the end.  KeyboardInterrupt stops the run (SIGINT first) and keeps
        its output; a second one kills it at once.  ``timeout`` only bounds this wait."""
        deadline = None if timeout is None else time.monotonic() + timeout
        interrupts = handled = 0
        while not self.finished.is_set():
            try:
                # handled inside the try: a second Ctrl-C while the first is handled is counted, not raised
                if handled < interrupts:
                    handled = interrupts
                    self._interrupted(first=handled == 1)
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                self.finished.wait(0.1 if left is None else min(0.1, left))
                if deadline is not None and time.monotonic() >= deadline:
                    break
            except KeyboardInterrupt:
                interrupts += 1
        return self

    def _interrupted(self, first: bool) -> None:
        if first:
            self._note("interrupted: stopping stap (SIGINT; press again to kill it)")
            self.stop(reason="interrupted")
        else:
            if self.stop_reason is None:
                self.record.stop_reason = "interrupted"
            self._note("interrupted again: killing stap's process group")
            self._kill_now()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once the probes are live; False if the run ended (or timed out) before."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ready.is_set():
            if self.finished.is_set():
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self.ready.wait(0.05)
        return True

    def stop(self, reason: str = "stopped", *, wait: bool = False, grace: float | None = None) -> "Run":
        """Stop the run: SIGINT to stap (end probes run), escalating to SIGTERM and
        SIGKILL of its process group.  Returns at once unless ``wait``."""
        with self._stop_lock:
            if self._proc is not None and not self.finished.is_set() and self._stopper is None:
                if self.stop_reason is None:
                    self.record.stop_reason = reason
                self._stopper = threading.Thread(
                    target=self._escalate, args=(grace if grace is not None else self._grace(),),
                    name="stapbench-stop", daemon=True)
                self._stopper.start()
        if wait:
            self.wait()
        return self

    def add_note(self, text: str) -> None:
        """A remark of the caller's (e.g. the magics' runtime choice), shown and kept like stapbench's own."""
        self._note(text)

    def _grace(self) -> float:
        """How long stap gets after SIGINT: on --remote targets stap first has the target stop
        its module and send what it still holds (under TCG that took over 5 s in the lab), and
        a SIGKILL here would cut that output off."""
        return max(self.options.grace, REMOTE_GRACE_S) if self.options.remote else self.options.grace

    def _escalate(self, grace: float) -> None:
        self._stop_trigger()  # first: its last requests are no longer traced anyway
        if self._stop_in_labs():
            return
        stop_group(self._proc.pid, grace=grace, term_grace=self.options.term_grace,
                   is_done=lambda: self._exited, log=self._note, sent=self._signals_sent.append)

    def _stop_in_labs(self) -> bool:
        """A run whose targets are all labs stops from inside the guests (runner.remote)."""
        return stop_in_labs(self._targets, self._grace(), lambda: self._exited, self._note)

    def _kill_now(self) -> None:
        self._stop_trigger()
        if self._proc is None:
            return
        if self.supervised and self._proc.child.isalive():
            # root's stap is out of reach: sudo passes SIGQUIT on, the supervisor SIGKILLs stap's group
            try:
                os.kill(self._proc.pid, signal.SIGQUIT)
                self._signals_sent.append("SIGKILL")
                return
            except OSError:
                pass
        if signal_group(self._proc.pid, signal.SIGKILL):
            self._signals_sent.append("SIGKILL")

    def _note(self, text: str) -> None:
        self.record.notes.append(text)
        call_each(self.on_note, text, self.callback_errors)

    # --- reading ---------------------------------------------------------------------

    def _start_reader(self, initial: bytes) -> None:
        self._reader = threading.Thread(target=self._read_loop, args=(initial,),
                                        name="stapbench-reader", daemon=True)
        self._reader.start()

    def _read_loop(self, initial: bytes) -> None:
        proc = self._proc
        fds = {proc.stdout_fd: "stdout", proc.stderr_fd: "stderr"}
        try:
            if initial:
                self._ingest("stdout", initial)
            idle_flushed = True
            exited_at = None
            while fds:
                try:
                    readable, _, _ = select.select(list(fds), [], [], IDLE_FLUSH_S)
                except InterruptedError:
                    continue
                for fd in readable:
                    try:
                        data = os.read(fd, READ_SIZE)
                    except OSError:  # EIO: the pty's last writer closed it
                        data = b""
                    if data:
                        self._ingest(fds[fd], data)
                        idle_flushed = False
                    else:
                        del fds[fd]
                if not readable and not idle_flushed:
                    self._pipeline.flush()
                    idle_flushed = True
                if exited_at is None and not proc.child.isalive():
                    self._mark_exited()
                    exited_at = time.monotonic()
                if exited_at is None:
                    self._watch_target()
                if exited_at is not None and not readable and time.monotonic() - exited_at > DRAIN_S:
                    break  # something stap started still holds the pty or the pipe
            if exited_at is None:
                proc.child.wait()
                self._mark_exited()
        except Exception as exc:  # never lose the run to a reader bug
            log.exception("stapbench reader failed")
            self._note(f"reader failed: {exc!r}")
            self._kill_now()
        finally:
            self._finish()

    def _mark_exited(self) -> None:
        self._signals_at_exit = list(self._signals_sent)  # later ones went to what stap left behind
        self._exited = True

    def _watch_target(self) -> None:
        """With -x, stap outlives its target; end the run when the target is gone."""
        pid = self.options.pid
        if pid is None or not self.options.stop_when_target_exits or self._stopper is not None:
            return
        if self.options.remote:  # the pid is the target host's, not this machine's
            return
        now = time.monotonic()
        if now < self._next_target_check:
            return
        self._next_target_check = now + TARGET_CHECK_S
        if not is_alive(pid):
            self._note(f"target process {pid} exited; stopping stap")
            self.stop(reason="target exited")

    def _ingest(self, stream: str, data: bytes) -> None:
        with self._write_lock:
            t = self._writer.write(stream, data)
        if self._pipeline.feed(stream, data, t):
            self._on_ready()

    # --- readiness and the trigger ----------------------------------------------

    def _on_ready(self) -> None:
        self.record.ready_at = time.time()
        self.ready.set()
        call_each(self.on_ready, self, self.callback_errors)
        if self.trigger_argv and self.stop_reason is None:
            self._start_trigger()

    def _start_trigger(self) -> None:
        self._trigger = Trigger(self.trigger_argv, self._on_trigger_output, self._on_trigger_exit)
        try:
            self._trigger.start()
        except OSError as exc:
            self._note(f"trigger {self.trigger_argv[0]!r} could not start: {exc}")
            self.record.trigger_status = 127
            self.stop(reason="error")

    def _on_trigger_output(self, data: bytes) -> None:
        with self._write_lock:
            if self._writer is not None:
                self._writer.write("trigger", data)
        call_each(self.on_trigger_output, data, self.callback_errors)

    def _on_trigger_exit(self, status: int) -> None:
        self.record.trigger_status = status
        failure = trigger_failure(self.trigger_argv, status)
        if failure:
            self._note(failure)
        settle = self.options.stop_after_trigger
        if settle is not None and not self.finished.is_set():
            reason = "trigger failed" if failure else "trigger finished"
            self._after(settle, lambda: self.stop(reason=reason))

    def _on_program_output(self, data: bytes) -> None:
        with self._write_lock:
            if self._writer is not None:
                self._writer.write("program", data)
        call_each(self.on_program_output, data, self.callback_errors)

    def _close_program(self) -> None:
        if self._program is not None:
            self._program.close()

    def _stop_trigger(self) -> None:
        if self._trigger is not None:
            self._trigger.stop()

    def _after(self, seconds: float, action) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    # --- the end -----------------------------------------------------------------

    def _finish(self) -> None:
        record = self.record
        for timer in self._timers:
            timer.cancel()
        self._stop_trigger()
        if self._trigger is not None:
            self._trigger.join(5)  # its last output belongs in the transcript
        proc = self._proc
        child = proc.child
        if child.exitstatus is not None:
            record.exit_status = child.exitstatus
        elif child.signalstatus is not None:
            record.exit_status = -child.signalstatus
        if record.stop_reason is None:
            record.stop_reason = "exited"
        # the signal that ended stap: the one it died of, else the last one it got before it exited
        # (of those it can survive: a stap that exited was not ended by a SIGKILL request)
        if child.signalstatus is not None:
            record.stop_signal = signal.Signals(child.signalstatus).name
        else:
            survivable = [name for name in self._signals_at_exit if name != "SIGKILL"]
            record.stop_signal = survivable[-1] if survivable else None
        # a -c target or a stray helper stap left behind: end it (never leave stap running)
        if group_members(proc.pid):
            stop_group(proc.pid, grace=0.0, term_grace=self.options.term_grace,
                       is_done=lambda: True, log=self._note)
        # what a SIGKILL hit is still on its way out: its uprobes are busy until it is gone
        wait_group_gone(proc.pid, GONE_S)
        if self.options.runtime == "bpf" and not self.options.remote and not self.supervised:  # (the supervisor did, as root)
            # a stapbpf killed on the way (SIGKILL) leaves its probe points in the kernel
            note = cleanup_note(*remove_stale_stap_uprobes(busy_for=GONE_S))
            if note:
                self._note(note)
        if record.stop_reason == "interrupted":  # the last word after "press again to kill it"
            how = (f"killed by {record.stop_signal}" if child.signalstatus is not None
                   else f"after {record.stop_signal or 'its own end'}, exit status {record.exit_status}")
            self._note(f"stap ended after the interrupt: {how}")
        self._close_program()  # the program is gone with stap's group: its last output is in
        self._pipeline.close()
        try:
            os.close(proc.stderr_fd)
        except OSError:
            pass
        try:
            child.close(force=False)
        except Exception:
            pass
        with self._write_lock:
            self._writer.close()
            self._writer = None
        record.ended_at = time.time()
        record.write_meta()  # first: a watchdog that finds the end recorded leaves meta.json alone
        release_watchdog(self._watchdog)
        self._watchdog = None
        cleanup.unregister(self)
        self.finished.set()
        call_each(self.on_end, self, self.callback_errors)

    def _finish_without_process(self, note: str) -> None:
        self._note(note)
        self._close_program()
        self.record.stop_reason = "error"
        self.record.ended_at = time.time()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.record.write_meta()
        self.finished.set()
        call_each(self.on_end, self, self.callback_errors)


def run(script: str, *, background: bool = False, **option_values) -> Run:
    """Run ``script`` with stap and return the :class:`Run`.

    Keyword arguments are :class:`RunOptions` fields (``pid``, ``cmd``,
    ``trigger``, ``timeout``, ``runtime``, ...).  Waits for the end unless
    ``background``; a KeyboardInterrupt while waiting stops stap gracefully
    and returns the run with everything it printed.
    """
    r = Run(script, **option_values).start()
    if not background:
        r.wait()
    return r


def replay(folder: str | os.PathLike, **option_values) -> Run:
    """A finished :class:`Run` rebuilt from a recorded run folder (no stap needed):
    the streams go through the live run's pipeline in their recorded interleaving."""
    record = RunRecord.from_folder(folder, RunOptions(**option_values))
    ready = ParsePipeline(record).feed_recorded(Path(folder))
    return Run.from_record(record, ready=ready)


__all__ = ["Run", "RunError", "RunRecord", "run", "replay"]
