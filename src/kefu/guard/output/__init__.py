"""Output guard: checks a generated reply before the customer sees it.

A small model invents prices, time limits, links and promises, and may answer a Chinese question in English. The
guard finds the checkable claims in a reply (`claims`: amounts, percentages and discounts, dates and times,
durations, counts, links, phone numbers, e-mail addresses; `policy`: policy promises), normalises them (七天 == 7天 ==
7 days, ¥99 == 99元, 八折 == 20% off, URLs by host and path, phone numbers by digits) and accepts a claim only when
the retrieved sources (or, for facts such as an order amount, what the customer said) state the same normalised
value (`facts`, `support`). It also checks the reply's language against the question's (`language`) and, given a
PII detector, flags personal data that the customer did not give (`check`). It decides nothing: the caller
regenerates, answers from the FAQ or hands off.

Pure Python and regular expressions, no model: the check runs on every generated sentence and must stay well under
a millisecond.
"""

from kefu.guard.output.check import (
    PROBLEM_KINDS,
    OutputVerdict,
    PiiDetector,
    Problem,
    ReplyCheck,
    check_reply,
    clear_source_cache,
)
from kefu.guard.output.claims import CLAIM_KINDS, Claim, extract_claims

__all__ = [
    "CLAIM_KINDS",
    "PROBLEM_KINDS",
    "Claim",
    "OutputVerdict",
    "PiiDetector",
    "Problem",
    "ReplyCheck",
    "check_reply",
    "clear_source_cache",
    "extract_claims",
]
