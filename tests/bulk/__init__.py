"""Tests of the bulk engine (issue 4)."""
