"""Tests of the `processing` library alone: no Flask, no database."""
