"""Tests of the hf-access command line and of the examples."""
