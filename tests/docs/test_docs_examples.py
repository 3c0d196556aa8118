"""Every ```python block of the documentation and the README runs, against the fake account.

Each page is one test: its blocks run in order in one namespace (a fresh module), in a fresh
working directory, with ``ACTIVECAMPAIGN_API_URL`` / ``ACTIVECAMPAIGN_API_KEY`` pointing at a
:class:`~acexport.testing.FakeActiveCampaign` served on loopback. So the examples are written
as a user writes them: ``ActiveCampaign()`` reads the environment.

The account has list 1 ("Newsletter") and the custom fields TIER and BIRTHDAY, finishes bulk
imports at once, and enforces ActiveCampaign's rate limits on a :class:`~acexport.testing.VirtualClock`. Clients that point
at it run on that clock too, so the examples wait for rate limits and bulk-import batches in
virtual time and the suite stays fast; a virtual second passes between two blocks, as it would
for a reader, so each block starts with the account's full request budget. Clients pointing anywhere else (the pages on testing
build their own fakes) keep the real clock.

A block that defines ``test_*`` functions without parameters (the pages on testing show test
modules) has them called right after it runs, as pytest would (``async def`` ones under asyncio).

A block whose first line is ``# not run`` is skipped: only for code that needs a real account,
a notebook or a cluster. A block that imports an optional package (pandas, polars, duckdb,
tqdm) that is not installed is skipped too (each block imports what it uses): the page's other
blocks still run, and the test then reports a skip naming the blocks left out.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import pytest

from acexport import ActiveCampaign, AsyncActiveCampaign
from acexport.testing import FakeActiveCampaign, VirtualClock

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
KEY = "docs-example-key-0000"
NOT_RUN = "# not run"
OPTIONAL = ("pandas", "polars", "duckdb", "tqdm", "pyspark")

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_IMPORT = re.compile(rf"^\s*(?:import|from)\s+({'|'.join(OPTIONAL)})\b", re.MULTILINE)


class Block(NamedTuple):
    line: int  # 1-based line of the first code line in the page
    code: str


def python_blocks(text: str) -> list[Block]:
    """The fenced ```python blocks of a Markdown page (also indented ones, in tabs and notes)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _OPEN.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        words = opening["info"].split()
        language = words[0].lstrip("{.").rstrip("}").lower() if words else ""
        closing = re.compile(rf"^{re.escape(indent)}{fence[0]}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        i += 1
        start = i
        while i < len(lines) and not closing.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if language in ("python", "py"):
            code = textwrap.dedent("\n".join(line.removeprefix(indent) for line in body))
            blocks.append(Block(start + 1, code))
    return blocks


def runnable(blocks: list[Block]) -> list[Block]:
    return [b for b in blocks if b.code.strip() and not b.code.lstrip().startswith(NOT_RUN)]


def _page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_extractor_reads_indented_fences_and_skips_other_languages() -> None:
    text = (
        "# Title\n\n```bash\npip install x\n```\n\n"
        '=== "Tab"\n\n    ```python\n    a = 1\n    if a:\n        b = 2\n    ```\n\n'
        "````markdown\n```python\nnot = code\n```\n````\n\n"
        "```python\n# not run\nreal_account()\n```\n"
    )
    blocks = python_blocks(text)
    assert [b.code for b in blocks] == ["a = 1\nif a:\n    b = 2", "# not run\nreal_account()"]
    assert blocks[0].line == 10
    assert runnable(blocks) == blocks[:1]


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeActiveCampaign]:
    """The fake account the examples talk to, served on loopback and named by the env vars."""
    clock = VirtualClock()
    fake = FakeActiveCampaign(
        api_key=KEY,
        requests_per_second=5,
        bulk_imports_per_minute=100,
        import_delay=0.0,  # batches finish at once, so examples that poll do not sleep
        clock=clock,
    )
    fake.add_list("Newsletter")
    fake.add_field("Tier", perstag="TIER")
    fake.add_field("Birthday", perstag="BIRTHDAY", type="date")
    monkeypatch.chdir(tmp_path)
    with fake.serve() as server:
        monkeypatch.setenv("ACTIVECAMPAIGN_API_URL", server.url)
        monkeypatch.setenv("ACTIVECAMPAIGN_API_KEY", KEY)
        _run_clients_on(monkeypatch, clock, server.url)
        yield fake


@pytest.fixture
def clock(account: FakeActiveCampaign) -> VirtualClock:
    assert isinstance(account.clock, VirtualClock)
    return account.clock


def _run_clients_on(monkeypatch: pytest.MonkeyPatch, clock: VirtualClock, url: str) -> None:
    """Clients the examples make wait in virtual time: ``clock=``/``sleep=`` unless given."""

    def patch(cls: type[Any], sleep: Any) -> None:
        original = cls.__init__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("clock", clock)
            kwargs.setdefault("sleep", sleep)
            original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", __init__)

    patch(ActiveCampaign, clock.sleep)
    patch(AsyncActiveCampaign, clock.asleep)


@pytest.mark.integration
@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_examples_run(
    page: Path, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not page.exists():
        pytest.skip(f"{_page_id(page)} does not exist yet")
    text = page.read_text(encoding="utf-8")
    blocks = runnable(python_blocks(text))
    if not blocks:
        pytest.skip(f"{_page_id(page)} has no runnable python block")
    name = "docs_" + re.sub(r"\W", "_", _page_id(page))
    module = types.ModuleType(name)
    module.__file__ = str(page)
    monkeypatch.setitem(sys.modules, name, module)
    skipped: list[str] = []
    for block in blocks:
        missing = [m for m in _IMPORT.findall(block.code) if importlib.util.find_spec(m) is None]
        if missing:  # each block imports what it uses, so the others still run
            skipped.append(f"line {block.line} (needs {', '.join(sorted(set(missing)))})")
            continue
        clock.advance(1.0)  # a reader's pause: the account's request budget refills
        # Padded with newlines so that a traceback names the page and the line in it.
        code = compile("\n" * (block.line - 1) + block.code, str(page), "exec")
        before = dict(module.__dict__)
        exec(code, module.__dict__)
        for test in _new_tests(before, module.__dict__):
            if inspect.iscoroutinefunction(test):
                anyio.run(test)
            else:
                test()
    if skipped:
        pytest.skip(f"{_page_id(page)}: every other block ran; skipped " + "; ".join(skipped))


def _new_tests(before: dict[str, Any], after: dict[str, Any]) -> list[Any]:
    """The ``test_*`` functions a block defined, that take no argument: pytest would run them."""
    tests = []
    for name, value in after.items():
        if not name.startswith("test_") or before.get(name) is value:
            continue
        if isinstance(value, types.FunctionType) and not inspect.signature(value).parameters:
            tests.append(value)
    return tests
