"""Shared test set-up. Its presence puts tests/ on sys.path, so helpers such as
live_helpers import from every test directory (tests/browser too)."""
