"""A mock of RunningHub's workflow task API with TASK_END webhooks, for tests and local runs."""
