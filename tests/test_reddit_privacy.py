"""Salted author hashes (emofuse.privacy), as the Reddit crawler and the others store them."""

import stat

from emofuse.privacy import SALT_FILE, author_hash


def test_file_salt_is_created_once_private_and_stable(tmp_path, monkeypatch):
    monkeypatch.delenv("EMOFUSE_SALT", raising=False)
    first = author_hash("some_user", tmp_path / "a")
    assert first == author_hash("some_user", tmp_path / "a")  # same data dir, same salt
    salt_file = tmp_path / "a" / SALT_FILE
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    assert len(salt_file.read_text().strip()) == 64
    assert "some_user" not in first and len(first) == 32
    assert author_hash("other_user", tmp_path / "a") != first
    # another data directory draws its own salt: hashes do not link across them
    assert author_hash("some_user", tmp_path / "b") != first


def test_env_salt_wins_and_no_author_gives_none(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOFUSE_SALT", "a-shared-salt")
    one = author_hash("some_user", tmp_path / "a")
    assert one == author_hash("some_user", tmp_path / "b")
    assert not (tmp_path / "a" / SALT_FILE).exists()
    monkeypatch.setenv("EMOFUSE_SALT", "another-salt")
    assert author_hash("some_user", tmp_path / "a") != one
    assert author_hash(None, tmp_path) is None and author_hash("", tmp_path) is None
