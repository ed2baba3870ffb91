"""Poller: claims due tasks with a lease, queries upstreams in batches, emits status changes."""
