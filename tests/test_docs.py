"""The documentation: the site builds with ``mkdocs build --strict`` (broken links and anchors
fail), its command-line reference is what ``--help`` prints, every ``weighted-bert`` command in
README.md and docs/ parses, README.md stays short, and README's quick start runs as written on
the packaged MiniLM."""

import contextlib
import importlib.util
import io
import json
import os
import random
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from helpers import start_server_command, stop_server, write_split

from weighted_bert.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("**/*.md"))]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_site_builds_strict(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, env=ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert all(f"weighted-bert {name} --help" in page for name in hooks().commands(build_parser()))
    assert "predict_proba" in (tmp_path / "site" / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert (tmp_path / "site" / "benchmarks" / "results" / "defaults" / "index.html").is_file()


def test_the_strict_build_fails_on_a_broken_link(tmp_path):
    """The check can fail: a page linking to a page that does not exist stops the build."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the guide](missing.md).\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: x\nvalidation:\n  unrecognized_links: warn\n")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=tmp_path, capture_output=True,
                          text=True, env=ENV)
    assert done.returncode != 0 and "missing.md" in done.stderr


def test_the_cli_reference_is_what_help_prints():
    """Both from fresh processes, as the site is built: nothing this process registered (a test's
    loss, say) shows in either."""
    module = hooks()
    reference = subprocess.run([sys.executable, str(ROOT / "docs" / "hooks.py")], capture_output=True, text=True,
                               check=True).stdout
    env = {**os.environ, "COLUMNS": str(module.WIDTH)}
    for name in ["", *module.commands(build_parser())]:
        printed = subprocess.run([sys.executable, "-m", "weighted_bert", *([name] if name else []), "--help"],
                                 capture_output=True, text=True, env=env, check=True).stdout
        assert f"```text\n{printed.rstrip()}\n```" in reference, name


def commands_in(path: Path) -> list[str]:
    """The ``weighted-bert`` command lines of ``path``'s shell code blocks, continuation lines
    joined, cut before a pipe, redirection, ``&&``, ``;``, ``&`` or a comment."""
    found = []
    for block in re.findall(r"```(?:bash|sh|console|shell)?\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S):
        for line in re.sub(r"\s*\\\n\s*", " ", block).splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("weighted-bert "):
                found.append(re.split(r"\s(?:\||&&|;|>|2>)\s|\s#\s|\s&$", line)[0].strip())
    return found


def as_written(command: str) -> list[str]:
    """The command's words, an optional ``[--flag a|b]`` given as ``--flag a``."""
    def first_choice(match):
        flag, _, value = match.group(1).partition(" ")
        return f"{flag} {value.split('|')[0]}" if value else flag
    return shlex.split(re.sub(r"\[(--[^\]]+)\]", first_choice, command))


def test_every_command_in_the_docs_parses():
    parser = build_parser()
    seen, wrong = 0, []
    for path in PAGES:
        for command in commands_in(path):
            seen += 1
            printed = io.StringIO()
            try:
                with contextlib.redirect_stderr(printed), contextlib.redirect_stdout(io.StringIO()):
                    parser.parse_args(as_written(command)[1:])
            except SystemExit as stop:
                if stop.code:
                    wrong.append(f"{path.relative_to(ROOT)}: {command}: {printed.getvalue().strip().splitlines()[-1]}")
    assert seen > 30 and wrong == []


def test_the_command_check_finds_a_wrong_flag(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```bash\nweighted-bert train --model m --data-dir d \\\n    --no-such-flag 3  # a comment\n```\n")
    [command] = commands_in(page)
    assert command == "weighted-bert train --model m --data-dir d --no-such-flag 3"
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        build_parser().parse_args(as_written(command)[1:])
    assert as_written("weighted-bert serve --model m [--backend auto|torch] [--quiet]")[4:] == ["--backend", "auto",
                                                                                               "--quiet"]


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300
    first_screen = "\n".join(lines[:50])  # install, a first run, your own data, predict
    for needed in ("weighted-bert demo", "python3 -m pytest -q", "## Contents", "## Quick start on your own data",
                   "weighted-bert train --model", "weighted-bert predict --model"):
        assert needed in first_screen


def quick_start() -> list[str]:
    body = README.read_text(encoding="utf-8").split("## Quick start on your own data\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```bash\n(.*?)```", body, flags=re.S)
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_quick_start_runs_as_written(tmp_path):
    """Every line of the quick start in a shell, in a folder holding ``my_data``; ``serve`` on a
    free port (``--port 0``) in place of 8080, asked once over HTTP, then stopped."""
    (tmp_path / "my_data").mkdir()
    for split, n in (("train", 20), ("dev", 6), ("test", 6)):
        write_split(tmp_path / "my_data" / f"{split}_data.txt", random.Random(split),
                    {"sport": n, "finance": n, "weather": n})
    lines = quick_start()
    serve = [line for line in lines if line.startswith("weighted-bert serve ")]
    assert len(serve) == 1 and "--port 8080" in serve[0]
    script = "set -euo pipefail\n" + "\n".join(line for line in lines if line not in serve)
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "runs" / "first" / "model" / "onnx" / "model.onnx").is_file()
    predictions = (tmp_path / "predictions.tsv").read_text(encoding="utf-8").splitlines()
    assert len(predictions) == 1 + 18
    process, address = start_server_command(shlex.split(serve[0].replace("--port 8080", "--port 0"), comments=True),
                                            cwd=tmp_path)
    try:
        request = urllib.request.Request(f"http://{address}/predict", method="POST",
                                         data=json.dumps({"inputs": ["the rain and the storm"]}).encode(),
                                         headers={"content-type": "application/json"})
        answer = json.loads(urllib.request.urlopen(request, timeout=30).read())
        assert {a["label"] for a in answer[0]} == {"sport", "weather", "finance"}
    finally:
        stop_server(process)
