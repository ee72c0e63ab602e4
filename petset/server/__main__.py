"""`python -m petset.server`: run the daemon in the foreground (the CLI spawns it this way)."""

from __future__ import annotations

import argparse
import dataclasses
import json
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m petset.server")
    parser.add_argument("--listen", help="also serve on this loopback IP:PORT (token required)")
    args = parser.parse_args(argv)
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
