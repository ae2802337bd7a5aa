"""`emofuse sandbox serve` in a real process: its printed settings drive a real crawl."""

import os
import shlex
import signal
import subprocess
import sys

import pytest

from emofuse.cli import main
from emofuse.crawlers.store import CrawlStore
from emofuse.paths import store_path


def test_serve_prints_settings_that_work(tmp_path, monkeypatch, capsys):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emofuse.cli",
            "sandbox",
            "serve",
            "--data",
            str(tmp_path / "s"),
            "--posts",
            "6",
            "--banned",
            "gore",
            "--duration",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, COLUMNS="200"),
    )
    try:
        exports = {}
        first = process.stdout.readline()
        assert first.startswith("sandbox serving on http://127.0.0.1:")
        while "IMGUR_CLIENT_ID" not in exports:
            line = process.stdout.readline()
            assert line, process.stderr.read()
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = shlex.split(value)[0]
        for name, value in exports.items():
            monkeypatch.setenv(name, value)
        assert (tmp_path / "s" / "sandbox" / "praw.ini").exists()
        data = tmp_path / "d"
        with pytest.raises(SystemExit) as done:
            main(["crawl", "reddit", "--data", str(data), "--backoff", "0.01"])
        assert done.value.code == 0
        assert "r/gore is banned" in capsys.readouterr().err
        with CrawlStore(store_path(data, "reddit")) as store:
            assert store.count_posts() == 18  # 6 in each of happy, creepy, rage
            assert store.count_posts(status="ok") > 0
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0


def test_serve_refuses_a_bad_port(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["sandbox", "serve", "--data", str(tmp_path), "--port", "70000"])
    assert done.value.code == 2
    assert "--port" in capsys.readouterr().err
