"""What a user sees when a user file is empty, has a bad line, or is not UTF-8."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .conftest import REPO, Cli


def test_an_empty_from_file_is_named(run: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody yet\n\n", encoding="utf-8")
    result = run("accept", REPO, "--from-file", str(empty))
    assert result.exit_code == 2
    assert f"{empty} (--from-file) holds no users" in result.stderr
    assert "no users given" not in result.stderr


def test_a_bad_name_cites_the_file_and_line(run: Cli, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# approved\nuser-000000\n\nnot a name!\n", encoding="utf-8")
    result = run("accept", REPO, "--from-file", str(users))
    assert result.exit_code == 2
    assert f"error: {users}:4: " in result.stderr
    assert "decision" not in result.stderr
    assert set(run.statuses().values()) == {"pending"}  # nothing sent


def test_a_bad_csv_row_cites_the_file_and_line(run: Cli, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    reason = "x" * 300  # over the Hub's 200 characters
    users.write_text(f"user,reason\nuser-000000,\nuser-000001,{reason}\n", encoding="utf-8")
    result = run("reject", REPO, "--from-file", str(users))
    assert result.exit_code == 2
    assert f"error: {users}:3: " in result.stderr
    assert "decision" not in result.stderr


def test_a_bad_argument_is_named(run: Cli) -> None:
    result = run("accept", REPO, "user-000000", "bad name")
    assert result.exit_code == 2
    assert "error: argument 'bad name': " in result.stderr


def test_a_file_that_is_not_utf8_is_named(run: Cli, tmp_path: Path) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("user-000000\nJosé\n".encode("latin-1"))
    result = run("accept", REPO, "--from-file", str(latin))
    assert result.exit_code == 2
    assert f"{latin} is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.output


def test_list_with_a_limit_says_it_shows_the_first(run: Cli) -> None:
    result = run("list", REPO, "--limit", "3", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    assert "the first 3 pending requests on acme/model, as --limit 3 asks" in result.stderr
    whole = run("list", REPO, "--format", "jsonl")
    assert "5 pending requests on acme/model (1 call)" in whole.stderr


def test_dry_run_csv_bodies_are_json_and_one_call_is_singular(run: Cli) -> None:
    result = run("reject", REPO, "user-000000", "--reason", "=spam", "--dry-run", "--format", "csv")
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split(",")[-1] == "body"
    body = json.loads(next(csv.reader([row]))[-1])
    assert body["requests"] == [{"user": "user-000000"}]
    assert body["rejectionReason"] == "=spam"  # inside the JSON, not at the cell's start
    assert "dry run: 1 decision would take 1 call; nothing was sent" in result.stderr


def test_csv_cells_that_spreadsheets_run_are_neutralised(run: Cli) -> None:
    run.hub.add_user("eve", fullname='=HYPERLINK("http://evil")')
    run.hub.ask_access(REPO, "eve", fields={"Company": "+1-555", "Use": "@SUM(A1)"})
    result = run("list", REPO, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    eve = next(r for r in rows if r["username"] == "eve")
    assert eve["fullname"] == '\'=HYPERLINK("http://evil")'
    assert eve["field:Company"] == "'+1-555"
    assert eve["field:Use"] == "'@SUM(A1)"
    again = run("accept", REPO, "--from-file", "-", "--dry-run", input=result.stdout)
    assert again.exit_code == 0, again.output  # the export still feeds back in
