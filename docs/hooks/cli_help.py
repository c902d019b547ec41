"""MkDocs hook: the CLI reference is generated from the parser itself, so it cannot drift.
A page holding ``<!-- cli-help -->`` gets, in its place, ``interpnet COMMAND --help`` of every
command (and of ``data``'s subcommands)."""

from __future__ import annotations

import argparse
import os

MARKER = "<!-- cli-help -->"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its subparsers here, with no public API
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    from interpnet.cli.main import build_parser

    os.environ.setdefault("COLUMNS", "100")  # the width argparse wraps the help to
    parser = build_parser()
    parts = ["```text", parser.format_help().rstrip(), "```"]
    for name, sub in _subcommands(parser).items():
        nested = _subcommands(sub)
        for title, command in [(f"interpnet {name}", sub)] + [
            (f"interpnet {name} {n}", p) for n, p in nested.items()
        ]:
            parts += [f"\n## `{title}`\n", "```text", command.format_help().rstrip(), "```"]
    return "\n".join(parts)


def on_page_markdown(markdown: str, **_) -> str:
    return markdown.replace(MARKER, cli_reference()) if MARKER in markdown else markdown
