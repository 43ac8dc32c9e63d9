"""Tasks, completion markers and the executor interface shared by the local pool and Ray.

A task is one unit of restartable work (usually one input file). It is finished iff its marker
`RUN/_markers/<stage>/<task id>.json` exists; the marker holds the task's result (a JSON-able dict
of stats), so a resumed run skips the task and still reports identical stats.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tqdm import tqdm

from curate.errors import CurateError, disk_full_error
from curate.io.atomic import deferred_renames, read_json, write_json
from curate.layout import RunLayout


@dataclass(frozen=True)
class Task:
    id: str  # stable across runs, unique within a stage; safe as a file name
    fn: Callable[..., dict]  # a top-level function (picklable by reference)
    kwargs: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0  # e.g. input bytes, for progress bars
    fingerprint: str | None = None  # what decides the output (curate.fingerprint); a marker with another one is stale
    members: tuple["Task", ...] = ()  # a pack (see `pack_tasks`): fn returns {member id: member result}
    isolate: bool = False  # run in a worker process even when alone (its memory must not stay in the driver's)


PACK_TASKS = 4  # packs per worker: enough to balance the workers, few enough that per-call costs vanish


def pack_tasks(tasks: list[Task], workers: int, max_weight: float, fn: Callable[..., dict] | None = None,
               kwargs: dict | None = None) -> list[Task]:
    """Small tasks grouped into packs, so that thousands of tiny inputs cost a few worker calls
    instead of thousands. Consecutive tasks (in the given order) are packed while the pack's weight
    stays under min(`max_weight`, total / (workers * PACK_TASKS)); a heavier task stays alone. A
    pack runs `fn(members=[...], **kwargs)` (default: each member's own function, one after the
    other) and each member keeps its own id, marker and fingerprint: packing never shows in outputs,
    and a resumed run packs only the members still to do."""
    if len(tasks) < 2:
        return list(tasks)
    total = sum(t.weight for t in tasks)
    limit = max(min(max_weight, total / (max(workers, 1) * PACK_TASKS)), 1.0)
    out: list[Task] = []
    group: list[Task] = []

    def close() -> None:
        if len(group) == 1:
            out.append(group[0])
        elif group:
            members = tuple(group)
            out.append(Task(id=f"{members[0].id}+{len(members) - 1}", fn=fn or run_members,
                            kwargs={"members": members if fn is None else [m.kwargs | {"task_id": m.id} for m in members], **(kwargs or {})},
                            weight=sum(m.weight for m in members), members=members))
        group.clear()

    for t in tasks:
        if group and sum(m.weight for m in group) + t.weight > limit:
            close()
        group.append(t)
    close()
    return out


def run_members(members: tuple[Task, ...]) -> dict:
    """A pack of tasks run one after the other in one worker call: {member id: result}."""
    out = {}
    with deferred_renames():  # one file-system sync for the pack's outputs, not an fsync per file
        for m in members:
            try:
                out[m.id] = m.fn(**m.kwargs)
            except Exception as exc:
                exc.add_note(f"(in task {m.id})")
                raise
    return out


def marker_path(run_dir: Path, stage: str, task_id: str) -> Path:
    return RunLayout(run_dir).marker(stage, task_id)


FP_KEY = "_fingerprint"  # the task fingerprint stored in its marker beside the result


def read_marker(run_dir: Path, stage: str, task_id: str, raw: bool = False) -> dict | None:
    """A finished task's result (None if unfinished); `raw` keeps the stored fingerprint."""
    p = marker_path(run_dir, stage, task_id)
    if not p.exists():
        return None
    try:
        data = read_json(p)
    except Exception:  # a corrupt marker means "not finished"
        return None
    if not isinstance(data, dict):
        return None
    return data if raw else {k: v for k, v in data.items() if k != FP_KEY}


def marker_fingerprint(run_dir: Path, stage: str, task_id: str) -> str | None:
    """The fingerprint a finished task ran with (None if unfinished)."""
    m = read_marker(run_dir, stage, task_id, raw=True)
    return m.get(FP_KEY) if m else None


def write_marker(run_dir: Path, stage: str, task_id: str, result: dict, fingerprint: str | None = None) -> None:
    """Written after the task's outputs (each fsynced), and not fsynced itself: a marker lost or cut
    short by a crash is unreadable, which only means the task runs again (one fsync per task less,
    which adds up over thousands of small files)."""
    write_json(marker_path(run_dir, stage, task_id), result if fingerprint is None else {**result, FP_KEY: fingerprint}, durable=False)


def run_task(task: Task) -> dict:
    """Run a task's function; used inside worker processes (local pool and Ray). After every task,
    Arrow's allocator gives its freed memory back to the system (about a microsecond when there is
    none), so a worker waiting for its next task does not sit on the last one's peak: at 2.4 M
    documents, dedup's process tree peaked 520 MB in pass 2 instead of 652 MB when only `isolate`
    tasks released."""
    try:
        return task.fn(**task.kwargs)
    finally:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()


class Progress:
    """A progress bar over a stage's tasks: input MB (task weights) plus documents and docs/s when
    tasks report `docs_in` (or `docs`)."""

    def __init__(self, tasks: list["Task"], desc: str, enabled: bool):
        self.t0 = time.perf_counter()
        self.docs = 0
        total = sum(t.weight for t in tasks)
        unit = "B" if total > len(tasks) else "task"  # weights are input bytes, or 1 per task
        self.bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=True, disable=not enabled, leave=False, dynamic_ncols=True)

    def update(self, task: "Task", result: dict) -> None:
        self.bar.update(task.weight)
        if task.members:  # a pack: its members' documents
            n = sum(r.get("docs_in", r.get("docs")) or 0 for r in result.values() if isinstance(r, dict))
        else:
            n = result.get("docs_in", result.get("docs")) if isinstance(result, dict) else None
        if isinstance(n, int):
            self.docs += n
            rate = self.docs / max(time.perf_counter() - self.t0, 1e-9)
            self.bar.set_postfix_str(f"{self.docs:,} docs, {rate:,.0f} docs/s", refresh=False)

    def close(self) -> None:
        self.bar.close()


class TaskFailed(CurateError):
    """A task raised; the message names the task (= input file) and where its traceback was saved."""

    def __init__(self, task_id: str, detail: str, log: Path | None = None):
        self.task_id = task_id
        self.detail = detail
        super().__init__(f"task {task_id} failed: {detail}", where=str(log) if log else None,
                         fix="read the traceback in that file; fix the input or config, then rerun the same command to resume")


def save_failure(run_dir: Path, stage: str, task_id: str, exc: BaseException) -> Path:
    """Write the full traceback of a failed task beside the markers and return its path."""
    import traceback

    path = marker_path(run_dir, stage, task_id).with_suffix(".failed.txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return path


class Executor:
    """Runs a stage's tasks, skipping finished ones; subclasses say how work is spread.

    The contract for a subclass: `_run(stage, tasks, desc, skipped)` yields `(task, result)` as
    tasks finish (any order), asks `should_retry(exc, attempt)` after a task raises, and raises
    `self._failure(...)` for the first task that fails for good, after letting running tasks
    finish. `map` writes the markers and orders the results, so every executor resumes alike."""

    name = "base"

    def __init__(self, run_dir: Path, workers: int = 1, progress: bool = True, retries: int = 0):
        self.run_dir = Path(run_dir)
        self.workers = max(1, int(workers))
        self.progress = progress
        self.retries = retries
        self.reuse: dict[str, dict[str, int]] = {}  # per stage: tasks reused / run / rerun because their inputs changed

    def map(self, stage: str, tasks: list[Task], desc: str | None = None,
            pack: Callable[[list[Task]], list[Task]] | None = None) -> list[dict]:
        """Run the unfinished tasks and return every task's result, in task order. `pack` (e.g. a
        `pack_tasks` partial) groups the unfinished tasks into packs; markers stay per task."""
        ids = [t.id for t in tasks]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate task ids in stage {stage}")
        results: dict[str, dict] = {}
        todo = []
        changed = 0
        for t in tasks:
            done = read_marker(self.run_dir, stage, t.id, raw=True)
            if done is not None and (t.fingerprint is None or done.get(FP_KEY) == t.fingerprint):
                results[t.id] = {k: v for k, v in done.items() if k != FP_KEY}
            else:
                changed += done is not None
                todo.append(t)
        counts = self.reuse.setdefault(stage, {"tasks": 0, "reused": 0, "changed": 0})
        counts["tasks"] += len(tasks)
        counts["reused"] += len(tasks) - len(todo)
        counts["changed"] += changed
        if todo:
            work = pack(todo) if pack is not None else todo
            for task, result in self._run(stage, work, desc or stage, skipped=len(tasks) - len(todo)):
                for member in task.members or (task,):
                    r = result[member.id] if task.members else result
                    write_marker(self.run_dir, stage, member.id, r, member.fingerprint)
                    results[member.id] = r
        return [results[i] for i in ids]

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """The one retry rule of every executor: a CurateError names its input and a fix, so it is
        not retried; any other error is retried while `attempt` (0 = the first run) < `retries`."""
        return not isinstance(exc, CurateError) and attempt < self.retries

    def _failure(self, stage: str, task: Task, exc: BaseException, logged: BaseException | None = None) -> Exception:
        """What a failed task raises: its CurateError as is (it names file/line and a fix), else a
        TaskFailed naming the task, with the traceback of `logged` (default `exc`) saved to a file."""
        if isinstance(exc, CurateError):
            return exc
        full = disk_full_error(exc, str(self.run_dir))  # out of space is the disk's fault, not the input's
        if full is not None:
            return full
        return TaskFailed(task.id, f"{type(exc).__name__}: {exc}", save_failure(self.run_dir, stage, task.id, logged or exc))

    def _run(self, stage: str, tasks: list[Task], desc: str, skipped: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass
