"""A wallet as the API shows it: quota units, and the same amounts in US dollars."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from services.gateway.schemas import WalletInUsd, WalletPublic
from shared.ledger.wallet import Wallet

CENT_FRACTIONS = Decimal("0.000001")


def in_usd(quota: int, quota_per_usd: int) -> str:
    return str((Decimal(quota) / Decimal(quota_per_usd)).quantize(CENT_FRACTIONS, rounding=ROUND_HALF_EVEN))


def wallet_public(wallet: Wallet, quota_per_usd: int) -> WalletPublic:
    amounts = wallet.amounts()
    usd = WalletInUsd(quota_per_usd=quota_per_usd, **{n: in_usd(q, quota_per_usd) for n, q in amounts.items()})
    return WalletPublic(**amounts, usd=usd)
