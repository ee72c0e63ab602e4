"""exec -it's in-sandbox wrapper: the command reaches script(1) intact, with TERM and SHELL."""

from __future__ import annotations

import shlex

from petset.node.ttyexec import command_env, parse, script_argv


def test_parse_splits_the_environment_from_the_command() -> None:
    env, command = parse(["2", "A=1", "B=x=y", "sh", "-c", "echo 'hi there'"])
    assert env == {"A": "1", "B": "x=y"}
    assert command == ["sh", "-c", "echo 'hi there'"]


def test_the_command_is_quoted_for_scripts_shell() -> None:
    argv = script_argv(["sh", "-c", "echo 'a b' $HOME"])
    assert argv[1:4] == ["--quiet", "--return", "--command"] and argv[-1] == "/dev/null"
    assert shlex.split(argv[4]) == ["exec", "sh", "-c", "echo 'a b' $HOME"]


def test_term_from_the_client_unless_the_container_sets_it() -> None:
    assert command_env({"PATH": "/bin"}, "screen")["TERM"] == "screen"
    assert command_env({"PATH": "/bin"}, None)["TERM"] == "xterm"
    assert command_env({"TERM": "dumb"}, "screen")["TERM"] == "dumb"
    assert command_env({}, None)["SHELL"] == "/bin/sh"
