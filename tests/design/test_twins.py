"""Sync and async twins cannot drift apart.

Each async module is turned into sync form by the rules of :func:`unasync` and diffed against
its sync twin, as code (``ast.unparse``: docstrings, comments and line wrapping left out). The
only differences allowed are listed below, line by line: a change to one twin that is not made
to the other fails here, naming the lines.
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "acexport"

#: async spelling -> sync spelling, applied in order, as whole words.
RENAMES = [
    ("AsyncSegmentExporter", "SegmentExporter"),
    ("AsyncActiveCampaign", "ActiveCampaign"),
    ("AsyncCaller", "Caller"),
    ("AsyncBaseTransport", "BaseTransport"),
    ("AsyncIterator", "Iterator"),
    ("AsyncIterable", "Iterable"),
    ("AsyncClient", "Client"),
    ("_AsyncResource", "_Resource"),
    ("adrive", "drive"),
    ("aclose", "close"),
    ("aiter_bytes", "iter_bytes"),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("_async_caller", "_caller"),
    ("_async_client", "_client"),
    ("_async_export", "_export"),
]


def unasync(text: str) -> str:
    """The async module as its sync twin would read."""
    text = re.sub(r"\basync (def|for|with)\b", r"\1", text)
    text = re.sub(r"\bawait ", "", text)
    # blocking calls made in a worker thread: to_thread.run_sync(f, x) -> f(x)
    text = re.sub(r"\bto_thread\.run_sync\(([\w.]+)(, )?", r"\1(", text)
    for old, new in RENAMES:
        text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    text = re.sub(r"\bAwaitable\[([^\[\]]*)\]", r"\1", text)
    # Resource classes: AsyncUsers -> Users, ...
    return re.sub(r"\bAsync([A-Z]\w*)", r"\1", text)


def code(text: str) -> list[str]:
    """The module's code as lines, without docstrings and comments, in one canonical layout."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body[0] = ast.Pass() if len(body) == 1 else body.pop(0) and body[0]
    # ast.unparse writes a tuple target as "(a, b) = ..." before Python 3.11, "a, b = ..." after
    return [
        re.sub(r"^(\s*)\(([^()]*)\) = ", r"\1\2 = ", line)
        for line in ast.unparse(tree).splitlines()
    ]


def differences(async_path: str, sync_path: str) -> list[str]:
    """``- line`` (only in the async twin, unasynced) and ``+ line`` (only in the sync one)."""
    a = code(unasync((SRC / async_path).read_text(encoding="utf-8")))
    b = code((SRC / sync_path).read_text(encoding="utf-8"))
    out = []
    for line in difflib.unified_diff(a, b, n=0, lineterm=""):
        if line.startswith(("---", "+++", "@@")):
            continue
        text = line[1:].strip()
        if text and not text.startswith(("import ", "from ")):  # imports: ruff and mypy
            out.append(line[0] + " " + text)
    return out


#: The differences each pair may have: what is async or threaded by nature.
ALLOWED: dict[tuple[str, str], list[str]] = {
    ("_async_caller.py", "_caller.py"): [
        "- self._sleep: Callable[[float], None] = sleep if sleep is not None else anyio.sleep",
        "+ self._sleep: Callable[[float], None] = sleep if sleep is not None else time.sleep",
        "- self.http = http_client if http_client is not None else httpx.Client(transport=transport, timeout=config.timeout)",
        "+ self.http = http_client if http_client is not None else httpx.Client(transport=transport if transport is not None else deadline_transport(), timeout=config.timeout)",
        "- for item in page.items:",
        "- yield item",
        "+ yield from page.items",
        "- with cancel_after(request, self.config.timeout):",
        "+ with deadline(until):",
    ],
    ("_async_client.py", "_client.py"): [],
    ("_exporter/_async_export.py", "_exporter/_export.py"): [
        "- def export(self, profiles: Iterable[Any] | Iterable[Any]) -> ExportReport:",
        "+ def export(self, profiles: Iterable[Any]) -> ExportReport:",
        "- return self._export(run, session, _aiter(profiles))",
        "+ return self._export(run, session, iter(profiles))",
        "- with anyio.CancelScope(shield=True):",
        "- session.close(report)",
        "+ session.close(report)",
        "- if run.next_index % CANCEL_CHECK_EVERY == 0:",
        "- anyio.lowlevel.checkpoint()",
        "- if run.is_cancelled():",
        "- return self._last(run, session, run.end_of_input())",
        "+ if run.next_index % CANCEL_CHECK_EVERY == 0 and run.is_cancelled():",
        "+ return self._last(run, session, run.end_of_input())",
        "- send, receive = anyio.create_memory_object_stream[Callable[[], None]](math.inf)",
        "- running = 0",
        "- with send, receive, anyio.create_task_group() as tasks:",
        "+ pool = ThreadPoolExecutor(run.options.concurrency, thread_name_prefix='acexport-export')",
        "+ running: set[Future[Callable[[], None]]] = set()",
        "+ try:",
        "- action = run.next_step(running, caller.now(), caller.bulk_wait())",
        "+ action = run.next_step(len(running), caller.now(), caller.bulk_wait())",
        "- running += 1",
        "- tasks.start_soon(self._request, run, action, send)",
        "+ running.add(pool.submit(self._request, run, action))",
        "- timeout = min(action.seconds, MAX_IDLE_SLEEP) if isinstance(action, Wait) else math.inf",
        "- with anyio.move_on_after(timeout):",
        "- apply = receive.receive()",
        "- while True:",
        "- running -= 1",
        "- run.apply(apply)",
        "- try:",
        "- apply = receive.receive_nowait()",
        "- except anyio.WouldBlock:",
        "- break",
        "+ timeout = min(action.seconds, MAX_IDLE_SLEEP) if isinstance(action, Wait) else None",
        "+ done, _ = futures.wait(running, timeout, futures.FIRST_COMPLETED)",
        "+ for future in done:",
        "+ running.discard(future)",
        "+ run.apply(future.result())",
        "+ finally:",
        "+ pool.shutdown(wait=not running, cancel_futures=True)",
        "- def _request(self, run: ExportRun, action: Submit | Poll, send: MemoryObjectSendStream[Callable[[], None]]) -> None:",
        "+ def _request(self, run: ExportRun, action: Submit | Poll) -> Callable[[], None]:",
        "- send.send_nowait(partial(run.scheduler.answer, action, outcome, caller.now()))",
        "+ return partial(run.scheduler.answer, action, outcome, caller.now())",
        "- def _aiter(profiles: Iterable[Any] | Iterable[Any]) -> Iterator[Any]:",
        "- if isinstance(profiles, Iterable):",
        "- for profile in profiles:",
        "- yield profile",
        "- else:",
        "- for profile in profiles:",
        "- yield profile",
    ],
}


@pytest.mark.parametrize(("async_path", "sync_path"), list(ALLOWED), ids=lambda p: str(p))
def test_twins_differ_only_where_allowed(async_path: str, sync_path: str) -> None:
    found = differences(async_path, sync_path)
    allowed = ALLOWED[(async_path, sync_path)]
    unexpected = [d for d in found if d not in allowed]
    stale = [d for d in allowed if d not in found]
    assert not unexpected, "twins drifted apart:\n" + "\n".join(unexpected)
    assert not stale, "allowed differences that no longer exist:\n" + "\n".join(stale)


def test_unasync_rules() -> None:
    assert unasync("async def f(): await g()") == "def f(): g()"
    assert unasync("x = await to_thread.run_sync(s.close, r)") == "x = s.close(r)"
    assert unasync("await to_thread.run_sync(self.open)") == "self.open()"
    assert unasync("class AsyncUsers(_AsyncResource):") == "class Users(_Resource):"
    assert unasync("from ._async_caller import AsyncCaller, adrive") == (
        "from ._caller import Caller, drive"
    )
