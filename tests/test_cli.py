"""The ``emofuse`` command line: version, help on every command and option, suggestions, errors."""

import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from emofuse import __version__
from emofuse.cli import app, main

# The installed console script, as the README runs it (fall back to -m from a bare tree).
_SCRIPT = Path(sys.executable).parent / "emofuse"
EMOFUSE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "emofuse.cli"]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command in a child process, as a user types it."""
    return subprocess.run(
        [*EMOFUSE, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def _all_commands() -> list[tuple[str, click.Command]]:
    """Every command and group under ``emofuse``, with its full name."""
    found: list[tuple[str, click.Command]] = []

    def walk(prefix: str, command: click.Command) -> None:
        found.append((prefix, command))
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(f"{prefix} {name}", sub)

    walk("emofuse", typer.main.get_command(app))
    return found


def test_version_prints_the_installed_version() -> None:
    result = _run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"emofuse {__version__}"


def test_root_help_lists_the_stages_in_pipeline_order() -> None:
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout[result.stdout.index("Commands") :]
    order = ["crawl", "curate", "benchmark", "release", "demo", "sandbox"]
    positions = [commands.index(f"│ {name} ") for name in order]
    assert positions == sorted(positions)
    assert "emofuse demo" in result.stdout  # the epilog points newcomers at the demo


@pytest.mark.parametrize("argv", [["-h"], ["crawl", "reddit", "-h"], ["demo", "-h"]])
def test_short_help_flag_works_everywhere(argv: list[str]) -> None:
    result = _run(*argv)
    assert result.returncode == 0, result.stderr
    assert "Usage: emofuse" in result.stdout


def test_every_command_and_option_has_help() -> None:
    """``--help`` of every (sub)command explains the command and each of its options."""
    missing = []
    for name, command in _all_commands():
        if not (command.help or command.short_help):
            missing.append(f"{name}: no command help")
        for param in command.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"{name} {param.opts[0]}: no help")
            if isinstance(param, click.Argument) and not getattr(param, "help", None):
                missing.append(f"{name} {param.name}: argument without help")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize(
    "argv, suggestion",
    [
        (["demx"], "demo"),
        (["curat"], "curate"),
        (["crawl", "redit"], "reddit"),
        (["--verison"], "--version"),
    ],
)
def test_a_wrong_command_or_option_suggests_the_right_one(argv: list[str], suggestion: str) -> None:
    result = _run(*argv)
    assert result.returncode == 2
    assert suggestion in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_option_typo_suggests_the_option() -> None:
    result = _run("demo", "--sise", "3")
    assert result.returncode == 2
    assert "--size" in result.stderr


def test_user_error_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    """A UserError (here: --data names a file) is one line on stderr and exit code 2."""
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("not a folder")
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--data", str(not_a_folder)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:")
    assert len(err.splitlines()) == 1
    assert "--data" in err
    assert not_a_folder.read_text() == "not a folder"  # nothing overwritten


def test_user_error_from_a_real_process(tmp_path: Path) -> None:
    (tmp_path / "someone-elses.txt").write_text("keep me")
    result = _run("demo", "--data", str(tmp_path))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "someone-elses.txt").read_text() == "keep me"


def test_user_error_keeps_square_brackets(tmp_path: Path) -> None:
    """Error text is printed as text, not rich markup: "[flickr]" must survive."""
    labels = tmp_path / "labels.csv"
    labels.write_text("photo_id,label,votes_agree,votes_total\n123,awe,3,5\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [*EMOFUSE, "crawl", "flickr", "--labels", str(labels), "--data", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 2
    assert "[flickr] api_key" in result.stderr, result.stderr
    assert not (tmp_path / "d").exists()
