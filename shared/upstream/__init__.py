"""Clients of the upstream protocols CustomPass speaks."""
