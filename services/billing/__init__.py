"""Billing: wallets, holds and top-ups in MongoDB, driven by Kafka requests."""
