"""Test-run records the site shows (which tests passed, when, on what)."""
