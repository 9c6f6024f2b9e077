"""Django's PostgreSQL backend with a health check that asks the server only when needed.

Used as ``ENGINE`` whenever ``DATABASE_URL`` names PostgreSQL (``shell/settings.py``); see
:mod:`shell.postgresql.base`.
"""
