"""idflow's tests in tiers: processing/ (the library), webapp/ (the app through Flask's test
client), e2e/ (a real browser, PostgreSQL, Redis, a served gunicorn); helpers in support/."""
