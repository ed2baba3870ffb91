"""Code every CustomPass service shares: settings, events, topics, statuses, wiring, the ledger."""
