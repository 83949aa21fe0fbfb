"""Helpers the tests and the benches share: processes, fakes, settings, sample data.

A test module imports helpers from here (or fixtures through conftest.py), never from another
test module; bench/ imports only this package of tests/ (tests/platform/test_layout.py)."""
