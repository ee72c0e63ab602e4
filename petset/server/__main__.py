"""`python -m petset.server`: run the daemon in the foreground (the CLI spawns it this way)."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import json
import os
import sys

from petset.api.errors import PetsetError
from petset.api.settings import Settings
from petset.server.daemon import serve


def pin_settings(settings: Settings) -> Settings:
    """The network ranges a state directory was created with stay its own."""
    path = settings.saved_path
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        settings.home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(settings.persisted(), indent=2) + "\n")
        tmp.replace(path)
        return settings
    except (OSError, ValueError) as err:
        raise PetsetError(f"{path}: unreadable ({err}); fix or remove it") from None
    settings, warnings = settings.with_saved(saved)
    for w in warnings:
        print(f"petset daemon: warning: {w}", file=sys.stderr)
    return settings


# glibc's mallopt(M_ARENA_MAX, n). Each thread that allocates while others do
# gets its own malloc arena (up to 8 per core), and arenas keep freed memory:
# the daemon has ~150 threads (one per pod worker), which cost ~6 MB of RSS
# with 100 pods. Two arenas measured no slower on two cores.
_M_ARENA_MAX = -8
_ARENAS = 2


def limit_malloc_arenas() -> None:
    """Before any thread starts; a no-op off glibc or when MALLOC_ARENA_MAX is set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, _ARENAS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m petset.server")
    parser.add_argument("--listen", help="also serve on this loopback IP:PORT (token required)")
    args = parser.parse_args(argv)
    limit_malloc_arenas()
    settings = Settings.from_env()
    if args.listen:
        settings = dataclasses.replace(settings, tcp_listen=args.listen)
    settings = pin_settings(settings)
    try:
        return serve(settings)
    except PetsetError as err:
        print(f"petset daemon: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
