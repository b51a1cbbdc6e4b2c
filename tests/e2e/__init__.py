"""End-to-end tests: a real Chromium, PostgreSQL, Redis or a served gunicorn; marked `slow`."""
