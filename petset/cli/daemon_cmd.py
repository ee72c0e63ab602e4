"""petset daemon start|stop|status|logs."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Annotated

import typer

from petset.api.settings import Settings
from petset.cli import daemonctl
from petset.cli.client import Client

daemon_app = typer.Typer(
    no_args_is_help=True, help="Run and inspect the petset daemon.", rich_markup_mode=None
)


@daemon_app.command()
def start(
    foreground: Annotated[bool, typer.Option(help="Run in this terminal (for debugging).")] = False,
    listen: Annotated[
        str | None, typer.Option(help="Also serve on loopback IP:PORT with a bearer token.")
    ] = None,
) -> None:
    """Start the daemon (the other verbs also start it when none runs)."""
    settings = Settings.from_env()
    if listen:
        from petset.server.daemon import parse_listen

        parse_listen(listen)  # refuse a bad address here, not in a background process
    if foreground:
        from petset.server.daemon import serve

        if listen:
            settings = dataclasses.replace(settings, tcp_listen=listen)
        raise typer.Exit(serve(settings))
    pid = daemonctl.daemon_pid(settings)
    if pid is not None and daemonctl.answers(settings):
        print(f"petset daemon already running (pid {pid}, home {settings.home})")
        return
    pid = daemonctl.start_daemon(settings, listen=listen)
    print(f"petset daemon started (pid {pid}, home {settings.home})")


@daemon_app.command()
def stop(
    pods: Annotated[bool, typer.Option("--pods", help="Also stop every pod it runs.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds before SIGKILL.")] = 15.0,
) -> None:
    """Stop the daemon; pods keep running unless --pods is given."""
    settings = Settings.from_env()
    if pods and daemonctl.answers(settings):
        c = Client(settings, autostart=False)
        try:
            c.request("POST", "/v1/daemon/stop-pods", timeout=120)
        finally:
            c.close()
    pid = daemonctl.stop_daemon(settings, timeout=timeout)
    if pods:  # the pods are gone: so are the ClusterIP rules they served (kernel mode)
        from petset.node.kernelproxy import remove_table

        remove_table(settings.home)
    if pid is None:
        print(f"petset daemon not running (home {settings.home})")
    else:
        print(f"petset daemon stopped (pid {pid})")


@daemon_app.command()
def status() -> None:
    """Say whether the daemon runs, where, and whether it answers."""
    settings = Settings.from_env()
    pid = daemonctl.daemon_pid(settings)
    if pid is None:
        print(f"petset daemon not running (home {settings.home})")
        raise typer.Exit(1)
    state = "answering" if daemonctl.answers(settings) else "NOT answering"
    print(f"petset daemon running (pid {pid}, {state})")
    print(f"  home:   {settings.home}")
    print(f"  socket: {settings.socket_path}")
    print(f"  log:    {settings.log_path}")
    mode = settings.home / "proxy-mode"  # written by the daemon at start
    if mode.exists():
        print(f"  proxy:  {mode.read_text().strip()}")


@daemon_app.command()
def logs(
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
    tail: Annotated[int, typer.Option(help="Lines from the end; -1 for all.")] = 50,
    raw: Annotated[bool, typer.Option("--json", help="Print the JSON lines as stored.")] = False,
) -> None:
    """Print the daemon's log (JSON lines made readable)."""
    from petset.server.logs import format_line

    settings = Settings.from_env()
    path = settings.log_path
    if not path.exists():
        print(f"no daemon log yet at {path}", file=sys.stderr)
        out = daemonctl.out_path(settings)
        if out.exists():
            sys.stdout.write(out.read_text(errors="replace"))
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
        for line in lines[-tail:] if tail >= 0 else lines:
            print(line.rstrip("\n") if raw else format_line(line))
        if not follow:
            return
        inode = os.fstat(f.fileno()).st_ino
        try:
            while True:
                line = f.readline()
                if line:
                    print(line.rstrip("\n") if raw else format_line(line), flush=True)
                    continue
                time.sleep(0.2)
                if path.exists() and path.stat().st_ino != inode:  # rotated
                    return logs(follow=True, tail=-1, raw=raw)
        except KeyboardInterrupt:
            return


def register(app: typer.Typer) -> None:
    app.add_typer(daemon_app, name="daemon")
