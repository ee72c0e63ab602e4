"""`python -m petset.server`: run the daemon in the foreground (the CLI spawns it this way)."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from petset.api.errors import PetsetError
from petset.api.settings import Settings
from petset.server.daemon import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m petset.server")
    parser.add_argument("--listen", help="also serve on this loopback IP:PORT (token required)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.listen:
        settings = dataclasses.replace(settings, tcp_listen=args.listen)
    try:
        return serve(settings)
    except PetsetError as err:
        print(f"petset daemon: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
