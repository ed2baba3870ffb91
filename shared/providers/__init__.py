"""Upstream providers: one module per channel kind behind one of two Protocols (`base`: an async
upstream's `StatusProvider`, a sync upstream's `SyncProvider`), found by kind through the
`registry`."""
