"""PII detection and masking for customer messages: no personal data reaches the engine, the database or a log.

Every customer message passes through `mask` before it reaches the engine, the database or a log line, so
this runs on the serving path: hand-written recognisers (regular expressions plus validation: ID checksums
and birth dates, Luhn, area codes, context words) instead of an NLP model, at tens of microseconds a
message. The choice against presidio-analyzer is measured in docs/guard.md.

What the recognisers look for, and the look-alikes they leave alone:
- numbers (one scan for runs of digits with spaces or dashes, then classified): mainland ID numbers (18
  digits with the checksum, or 15; an ID-shaped number with a valid region code and birth date but a failing
  checksum is still an ID: a mistyped ID is still personal data), mobiles (+86, 0086, spaces, dashes),
  landlines (area code + number), bank cards (16-19 digits, issuer prefix + Luhn). A number directly after
  订单号 / 快递单号 / 运单号 / SKU / 发票 ... is a look-alike, as are 400/800 service lines, prices and dates.
- e-mail addresses; passports (E/G + 8 digits unconditionally; other formats after 护照 / passport);
  licence plates (京A12345, new-energy 8-character plates).
- addresses: runs of administrative units, roads, numbers, compounds and rooms (省 市 区 路 号 小区 栋 单元 室),
  accepted only when street-level (a road with a number, a compound with a building ...); English street
  addresses.
- names in context: after 我叫 / 收件人 / 联系人 / 姓名 ..., before 先生 / 女士 / 经理 / 总, next to another piece
  of PII ("张三 13812341234"), and English names after "I'm", "my name is", "Mr." ....

The parts: `data.py` (word lists and tables, no logic), `regex.py` (patterns built from word lists),
`numbers.py`, `identifiers.py` (e-mail, passports, plates), `addresses.py`, `names.py`, and `masking.py`
(`detect`, `mask`: candidates from every recogniser, overlaps resolved).
"""

from __future__ import annotations

from kefu.guard.pii.data import KINDS, PLACEHOLDERS
from kefu.guard.pii.masking import Masked, PiiSpan, detect, mask

__all__ = ["KINDS", "PLACEHOLDERS", "Masked", "PiiSpan", "detect", "mask"]
