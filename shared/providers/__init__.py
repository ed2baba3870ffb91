"""Upstream task providers: one module per channel kind behind one Protocol (`base`), found by
kind through the `registry`."""
