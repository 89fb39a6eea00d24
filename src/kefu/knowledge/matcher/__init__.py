"""The FAQ matcher and the fast-path decision.

- `features`: what the matcher reads in a pair of questions (overlap, contrasting terms, numbers, the
  question's shape); the trade's vocabulary comes from `terms.json`.
- `model`: the fitted logistic model in `matcher_model.npz`, read once; `DEFAULT_THRESHOLD`.
- `faq`: `FaqMatcher` (features + model -> a calibrated same-question probability) and `FaqMatch`.
- `fast_path`: `decide_fast_path`, the one decision the serving path and `kefu eval` share, and
  `exact_wordings`, the table of every entry's own wordings.
"""

from kefu.knowledge.matcher.faq import FaqMatch, FaqMatcher
from kefu.knowledge.matcher.fast_path import DEFAULT_MARGIN, decide_fast_path, exact_wordings, identical, is_identical
from kefu.knowledge.matcher.features import contrast_conflicts, numbers, question_shape
from kefu.knowledge.matcher.model import DEFAULT_COEF, DEFAULT_THRESHOLD, MODEL_FILE, TEXT_COEF

__all__ = [
    "DEFAULT_COEF",
    "DEFAULT_MARGIN",
    "DEFAULT_THRESHOLD",
    "MODEL_FILE",
    "TEXT_COEF",
    "FaqMatch",
    "FaqMatcher",
    "contrast_conflicts",
    "decide_fast_path",
    "exact_wordings",
    "identical",
    "is_identical",
    "numbers",
    "question_shape",
]
