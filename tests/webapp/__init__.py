"""Tests of the web app through Flask's test client, each on a SQLite database of its own."""
