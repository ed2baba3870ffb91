"""Test harness: real broker and database, real service processes over real connections."""
