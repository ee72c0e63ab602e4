"""kill -9 at a random moment loses no acknowledged write and leaves no
half-applied multi-object apply."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from petset.store import Store

CHILD = textwrap.dedent(
    """
    import sys
    from petset.store import Store

    store = Store(sys.argv[1])
    i = 0
    while True:
        batch = [
            {"kind": "ConfigMap", "metadata": {"name": f"b{i}-{j}"}, "data": {"i": str(i)}}
            for j in range(3)
        ]
        # The same object configured in every batch: an update inside the transaction.
        batch.append({"kind": "ConfigMap", "metadata": {"name": "last"}, "data": {"i": str(i)}})
        store.apply_many(batch)
        print(i, flush=True)
        i += 1
    """
)


def _run_and_kill(db: Path, rng: random.Random) -> int:
    """Start the writer, SIGKILL it at a random moment; the last acknowledged batch."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    acked = -1
    try:
        assert child.stdout is not None
        first = child.stdout.readline()  # the child is up and writing
        assert first.strip() == "0", first
        time.sleep(rng.uniform(0.02, 0.3))
    finally:
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=10)
    for line in [first, *out.splitlines()]:
        if line.strip():
            acked = int(line)
    return acked


def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    rng = random.Random()
    db = tmp_path / "state.db"
    for _ in range(2):
        acked = _run_and_kill(db, rng)
        store = Store(db)
        names = {o["metadata"]["name"] for o in store.list("ConfigMap", "default")}
        last = int(store.get("ConfigMap", "last", "default")["data"]["i"])
        store.close()
        assert last >= acked
        for i in range(last + 1):
            # Every batch up to the last one written is there entirely...
            assert {f"b{i}-{j}" for j in range(3)} <= names, i
        # ...and nothing of a batch that did not commit.
        assert not any(n.startswith(f"b{last + 1}-") for n in names)
        assert len(names) == 3 * (last + 1) + 1
        db_files = [p.name for p in tmp_path.iterdir()]
        assert "state.db" in db_files
        # The next run starts from a fresh file so batch numbers restart at 0.
        for p in tmp_path.iterdir():
            p.unlink()
