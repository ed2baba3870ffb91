"""A mock of Replicate's predictions API with signed webhooks, for tests and local runs."""
