"""Paging parameters of the list routes."""
from __future__ import annotations

from typing import Annotated

from fastapi import Query

# Far beyond any real listing, and inside the 64-bit integer MongoDB accepts for `skip`
# (a larger offset used to fail inside the driver with a 500).
MAX_OFFSET = 10**9

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")]
