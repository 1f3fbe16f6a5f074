"""Reading user and repo lists (pure)."""

from __future__ import annotations

import pytest

from hf_access.cli.inputs import UserLine, parse_repos, parse_users


def test_names_comments_and_blank_lines() -> None:
    text = "# header\n\nalice\n  bob  \n#carol\n"
    assert parse_users(text) == [UserLine("alice"), UserLine("bob")]


def test_csv_with_user_column_and_reasons() -> None:
    text = "Email,User,Reason\na@x.org,alice,\nb@y.org,bob,spam\n\n"
    assert parse_users(text) == [UserLine("alice"), UserLine("bob", "spam")]


def test_csv_with_username_column_and_quotes() -> None:
    text = 'username,fields\nalice,"Company=ACME, Inc"\n'
    assert parse_users(text) == [UserLine("alice")]


def test_csv_without_user_column() -> None:
    with pytest.raises(ValueError, match="no 'user' column"):
        parse_users("email,name\na@x.org,alice\n", source="users.csv")


def test_csv_row_without_a_name() -> None:
    with pytest.raises(ValueError, match=r"users\.csv:3: no user name"):
        parse_users("user,email\nalice,a@x.org\n,b@y.org\n", source="users.csv")


def test_empty() -> None:
    assert parse_users("# nothing\n\n") == []


def test_repos() -> None:
    assert parse_repos("acme/a\n# old\n\nacme/b  \n") == ["acme/a", "acme/b"]


def test_each_user_knows_its_file_and_line() -> None:
    plain = parse_users("# header\n\nalice\n  bob  \n", source="u.txt")
    assert [u.origin for u in plain] == ["u.txt:3", "u.txt:4"]
    table = parse_users("# export\nuser,reason\nalice,\n\nbob,spam\n", source="u.csv")
    assert [u.origin for u in table] == ["u.csv:3", "u.csv:5"]
