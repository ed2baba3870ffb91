"""`python -m tools.migrate`: versioned MongoDB index and document migrations, each applied once.

Upgrade procedure (docs/operations.md#upgrades): run it against the database, then restart the
services one by one.
"""
