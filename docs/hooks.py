"""MkDocs hooks (``hooks:`` in mkdocs.yml): the command-line reference made from the parser
at build time, so it prints what ``--help`` prints and cannot drift from the settings schema;
and the benchmark pages taken from ``benchmarks/``, their one home, into the site."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI_MARKER = "<!-- the command-line reference: docs/hooks.py writes it here -->"
WIDTH = 100  # the terminal width the reference is printed at (COLUMNS)


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each ``weighted-bert`` command's parser, in the order ``--help`` lists them."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def help_text(parser: argparse.ArgumentParser) -> str:
    """What ``--help`` prints for ``parser`` in a terminal ``WIDTH`` columns wide."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    try:
        return parser.format_help()
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def cli_reference() -> str:
    """The reference's body: ``weighted-bert --help``, then each command's ``--help``."""
    from weighted_bert.cli import build_parser

    parser = build_parser()
    parts = ["`weighted-bert --help`:", "", "```text", help_text(parser).rstrip(), "```", ""]
    for name, command in commands(parser).items():
        parts += [f"## {name}", "", f"`weighted-bert {name} --help`:", "", "```text", help_text(command).rstrip(),
                  "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return markdown.replace(CLI_MARKER, cli_reference()) if CLI_MARKER in markdown else markdown


def on_files(files, config):
    """``benchmarks/README.md`` (the index of every benchmark) and the results it links to, as pages."""
    from mkdocs.structure.files import File

    for path in [ROOT / "benchmarks" / "README.md", *sorted((ROOT / "benchmarks" / "results").glob("*.md"))]:
        files.append(File(str(path.relative_to(ROOT)), str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


if __name__ == "__main__":  # the reference's body, as the site gets it (the tests compare it with --help)
    print(cli_reference())
