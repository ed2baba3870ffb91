"""`make chaos`: the whole system under mixed load while faults hit it on a seeded schedule, then
a check that no money or task was lost or invented (docs/architecture.md, "Chaos run")."""
