"""How figures are written for the reader, in one place: thousands separators, euros, shares.

Amounts are written "EUR 1,100" as the EU's English style guide writes them (the ISO code before
the figure), everywhere: pages, chart summaries, the command line."""

from __future__ import annotations


def count(value) -> str:
    """A whole number with thousands separators: 12,345."""
    return f"{int(value):,}"


def euros(amount) -> str:
    """Whole euros as people write them: EUR 1,100."""
    return f"EUR {int(amount):,}"


def euros_short(amount) -> str:
    """A compact amount for a headline figure (EUR 1.32M, EUR 269k); give the exact one as help."""
    amount = int(amount)
    if abs(amount) >= 1_000_000:
        return f"EUR {amount / 1_000_000:.2f}M"
    if abs(amount) >= 10_000:
        return f"EUR {amount / 1_000:.0f}k"
    return euros(amount)


def share(value: float) -> str:
    """A share as a whole percentage: 0.126 is 13%."""
    return f"{value:.0%}"


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """'1 exchange', '2,300 exchanges'; `nouns` for an irregular plural ('countries')."""
    return f"{count(n)} {noun if n == 1 else nouns or noun + 's'}"
