"""Accounting: who used which GPUs when, what it cost at market and what they were charged,
and the energy and CO2 behind it (the ledger)."""

from gpufleet.accounting.ledger import build_ledger, ledger_of, price_ledger, rollup
from gpufleet.accounting.prices import PriceTable, load_prices

__all__ = ["PriceTable", "build_ledger", "ledger_of", "load_prices", "price_ledger", "rollup"]
