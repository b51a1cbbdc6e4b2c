"""Helpers the test modules share, so no test module imports another."""
