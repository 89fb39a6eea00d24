"""Compare presidio-analyzer (custom Chinese recognisers, no spaCy model download) with kefu's own PII
recognisers on tests/data/pii_zh.jsonl (docs/guard.md, "PII"). presidio is not a kefu dependency: run this in a
throwaway virtual environment,

    python3.11 -m venv /tmp/presidio-venv && /tmp/presidio-venv/bin/pip install presidio-analyzer jieba
    /tmp/presidio-venv/bin/python bench/pii_presidio.py [--out report.json]

Configurations:
  presidio-native : presidio's built-in Email, CreditCard (Luhn) and Phone (phonenumbers, region CN)
                    recognisers + custom PatternRecognizers for the Chinese kinds (regex, context words,
                    validate_result for ID checksums), the way presidio's docs describe custom recognisers.
  presidio+kefu   : one custom EntityRecognizer inside presidio that calls kefu.guard.pii.detect: the same
                    accuracy as kefu, so the difference is presidio's own overhead.
  kefu            : kefu.guard.pii.detect alone.
The NLP engine is spacy.blank("zh") with the jieba segmenter (tokens for presidio's context enhancer); no
model is downloaded.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import tldextract  # noqa: E402

# Presidio's e-mail recogniser calls tldextract, which fetches the public-suffix list on first use: use the
# snapshot bundled with tldextract instead (no download at run time).
tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

import spacy  # noqa: E402
from presidio_analyzer import (  # noqa: E402
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts  # noqa: E402
from presidio_analyzer.nlp_engine.slim_spacy_nlp_engine import SlimSpacyNlpEngine  # noqa: E402
from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    CreditCardRecognizer,
    EmailRecognizer,
    PhoneRecognizer,
)

from kefu.guard import pii as kefu_pii  # noqa: E402
from kefu.guard.evaluation_pii import evaluate_pii, load_rows  # noqa: E402
from kefu.guard.pii import PiiSpan  # noqa: E402

LANG = "zh"


class BlankZhEngine(SlimSpacyNlpEngine):
    """spacy.blank('zh') with jieba segmentation; token text stands in for the lemma (a blank pipeline has none)."""

    def load(self) -> None:
        self.nlp = {LANG: spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})}

    def _doc_to_nlp_artifact(self, doc, language):  # type: ignore[no-untyped-def]
        return NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=[t.idx for t in doc],
            lemmas=[(t.lemma_ or t.text).lower() for t in doc],
            nlp_engine=self,
            language=language,
            scores=[],
        )


WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


class CnIdRecognizer(PatternRecognizer):
    def validate_result(self, pattern_text: str):  # type: ignore[no-untyped-def]
        ds = "".join(c for c in pattern_text if c.isdigit() or c in "Xx").upper()
        if len(ds) != 18:
            return None
        check = "10X98765432"[sum(int(c) * w for c, w in zip(ds, WEIGHTS, strict=False)) % 11]
        return True if ds[17] == check else None  # a failing checksum keeps the pattern score (mistyped ID)


class CnCardRecognizer(PatternRecognizer):
    def validate_result(self, pattern_text: str):  # type: ignore[no-untyped-def]
        ds = [int(c) for c in pattern_text if c.isdigit()]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(ds)))
        return total % 10 == 0


SURN = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)


def native_recognizers() -> list[EntityRecognizer]:
    sep = r"[\s\-]?"
    return [
        EmailRecognizer(supported_language=LANG),
        CreditCardRecognizer(supported_language=LANG, context=["卡号", "银行卡", "信用卡", "card", "退款"]),
        PhoneRecognizer(supported_language=LANG, supported_regions=("CN",), context=["电话", "手机", "座机", "phone"]),
        PatternRecognizer(
            # the built-in e-mail pattern ends in \b, which does not fire between ".com" and a Chinese character
            supported_entity="EMAIL_ADDRESS",
            supported_language=LANG,
            patterns=[
                Pattern(
                    "email_cjk",
                    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
                    0.6,
                )
            ],
        ),
        CnCardRecognizer(
            supported_entity="CREDIT_CARD",
            supported_language=LANG,
            patterns=[
                Pattern("cn_card", r"(?<![0-9A-Za-z])(?:[3-6]\d{3}|9558)(?:[\s\-]?\d){12,15}(?![0-9A-Za-z])", 0.5)
            ],
            context=["卡号", "银行卡", "信用卡", "card", "退款"],
        ),
        CnIdRecognizer(
            supported_entity="CN_ID",
            supported_language=LANG,
            patterns=[
                Pattern(
                    "cn_id_18",
                    rf"(?<![0-9A-Za-z])[1-9]\d{{5}}{sep}(?:18|19|20)\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                    rf"{sep}\d{{3}}[\dXx](?![0-9A-Za-z])",
                    0.6,
                ),
                Pattern(
                    "cn_id_15",
                    r"(?<![0-9A-Za-z])[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![0-9A-Za-z])",
                    0.3,
                ),
            ],
            context=["身份证", "证件", "身份", "实名", "id"],
        ),
        PatternRecognizer(
            supported_entity="CN_MOBILE",
            supported_language=LANG,
            patterns=[
                Pattern(
                    "cn_mobile",
                    r"(?<![0-9A-Za-z])(?:(?:\+|00)?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d){8}(?![0-9A-Za-z])",
                    0.6,
                )
            ],
            context=["手机", "电话", "联系", "号码", "tel", "phone", "mobile", "call"],
        ),
        PatternRecognizer(
            supported_entity="CN_LANDLINE",
            supported_language=LANG,
            patterns=[
                Pattern(
                    "cn_landline",
                    r"(?<![0-9A-Za-z])(?:[(（]0\d{2,3}[)）]|0\d{2,3})[\s\-]?\d{3,4}[\s\-]?\d{4}(?![0-9A-Za-z])",
                    0.4,
                )
            ],
            context=["座机", "电话", "固话", "office", "公司"],
        ),
        PatternRecognizer(
            supported_entity="CN_PASSPORT",
            supported_language=LANG,
            patterns=[
                Pattern("cn_passport", r"(?<![A-Za-z0-9])(?:E[A-HJ-NP-Z]?\d{7,8}|G\d{8})(?![A-Za-z0-9])", 0.5),
                Pattern(
                    "passport_in_context",
                    r"(?i)(?<=(?:护照|passport|通行证)(?:号码|号|\s*no\.?|\s*number|\s*is|是|[:：\s])*)"
                    r"[A-Z]{0,2}\d{6,9}(?![A-Za-z0-9])",
                    0.6,
                ),
            ],
            context=["护照", "passport"],
        ),
        PatternRecognizer(
            supported_entity="CN_PLATE",
            supported_language=LANG,
            patterns=[
                Pattern(
                    "cn_plate",
                    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][·\s]?"
                    r"(?:[DF][A-HJ-NP-Z0-9]\d{4}|\d{5}[DF]|[A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警])(?![A-Za-z0-9])",
                    0.6,
                )
            ],
            context=["车牌", "车", "plate"],
        ),
        PatternRecognizer(
            supported_entity="CN_ADDRESS",
            supported_language=LANG,
            patterns=[
                Pattern(
                    "cn_addr_admin",
                    r"(?:[\u4e00-\u9fa5]{2,8}(?:省|自治区)\s?)?(?:[\u4e00-\u9fa5]{2,6}市\s?)?[\u4e00-\u9fa5]{2,6}(?:区|县)\s?"
                    r"[\u4e00-\u9fa5A-Za-z\d\s\-]{2,30}?(?:号|弄|室|栋|幢|单元|组|楼)(?:[\dA-Za-z\-]+(?:室|楼|层)?)?",
                    0.5,
                ),
                Pattern(
                    "cn_addr_road",
                    r"[\u4e00-\u9fa5]{2,12}(?:路|街|大道)\d+(?:号|弄)(?:[\u4e00-\u9fa5A-Za-z\d\-]{0,20}(?:室|栋|幢|楼|单元|座)\d*)?",
                    0.5,
                ),
                Pattern(
                    "cn_addr_compound",
                    r"[\u4e00-\u9fa5A-Za-z]{2,10}(?:小区|花园|公寓|大厦|城|苑|府|村)\d+(?:-\d+){0,2}(?:栋|幢|号楼|组)?\d*(?:单元)?\d*室?",
                    0.4,
                ),
                Pattern(
                    "en_addr",
                    r"\b\d{1,5}[A-Z]?\s+(?:[A-Z][a-z'.]+\s){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Drive|Boulevard|Way)"
                    r"\b\.?(?:,\s*[A-Z][\w ]+){0,3}",
                    0.6,
                ),
            ],
            context=["地址", "寄到", "送到", "住", "address", "ship"],
        ),
        PatternRecognizer(
            supported_entity="CN_NAME",
            supported_language=LANG,
            # presidio's default flags include IGNORECASE, which would make "I'm not happy" a name
            global_regex_flags=re.DOTALL | re.MULTILINE,
            patterns=[
                Pattern(
                    "cn_name_after_label",
                    rf"(?<=(?:我叫|姓名|名字|收件人|收货人|联系人|寄件人|取件人|持卡人|开户名|户名|本人|车主)(?:是|为|[:：\s])*)"
                    rf"(?:欧阳|司马|诸葛|上官|慕容|东方|[{SURN}])[\u4e00-\u9fa5]{{1,2}}",
                    0.6,
                ),
                Pattern("cn_title", rf"[{SURN}](?=先生|女士|小姐)", 0.5),
                Pattern(
                    "en_name",
                    r"(?<=(?i:my name is|i'm|i am|this is|name:|recipient:?|mr\.?|ms\.?|mrs\.?)\s+)"
                    r"[A-Z][a-z]+(?:\s[A-Z][a-z]+)?",
                    0.5,
                ),
            ],
            context=["叫", "姓名", "收件人", "name"],
        ),
    ]


ENTITY_KIND = {
    "EMAIL_ADDRESS": "email",
    "CREDIT_CARD": "card",
    "CN_ID": "id",
    "CN_MOBILE": "mobile",
    "CN_LANDLINE": "phone",
    "CN_PASSPORT": "passport",
    "CN_PLATE": "plate",
    "CN_ADDRESS": "addr",
    "CN_NAME": "name",
}


def phone_kind(text: str) -> str:
    ds = "".join(c for c in text if c.isdigit())
    ds = ds[2:] if ds.startswith("86") and len(ds) == 13 else ds
    return "mobile" if len(ds) == 11 and ds.startswith("1") else "phone"


class KefuRecognizer(EntityRecognizer):
    """kefu's recognisers hosted in presidio (for the framework's overhead)."""

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):  # type: ignore[no-untyped-def]
        return [RecognizerResult(f"KEFU_{s.kind}", s.start, s.end, 1.0) for s in kefu_pii.detect(text)]


def make_engine(recognizers: list[EntityRecognizer]) -> AnalyzerEngine:
    registry = RecognizerRegistry(supported_languages=[LANG])
    for r in recognizers:
        registry.add_recognizer(r)
    nlp = BlankZhEngine(models=[{"lang_code": LANG, "model_name": "blank"}], auto_download=False)
    nlp.load()
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[LANG])


def as_detector(engine: AnalyzerEngine, threshold: float):  # type: ignore[no-untyped-def]
    def detect(text: str) -> list[PiiSpan]:
        results = engine.analyze(text=text, language=LANG, score_threshold=threshold)
        spans = []
        for r in sorted(results, key=lambda r: (-r.score, r.start - r.end)):
            et = r.entity_type
            kind = (
                et[5:]
                if et.startswith("KEFU_")
                else phone_kind(text[r.start : r.end])
                if et == "PHONE_NUMBER"
                else ENTITY_KIND.get(et)
            )
            if kind is None:
                continue
            if all(r.end <= s.start or r.start >= s.end for s in spans):  # keep the best of overlapping results
                spans.append(PiiSpan(r.start, r.end, kind, text[r.start : r.end]))
        return sorted(spans, key=lambda s: s.start)

    return detect


def summary(name: str, res: dict) -> dict:
    out = {"config": name, **{k: v for k, v in res.items() if k not in ("errors", "pii")}, "pii": res["pii"]}
    kinds = " ".join(f"{k}:{v['precision']:.2f}/{v['recall']:.2f}" for k, v in res["pii"].items())
    print(
        f"{name:28s} benign={res['benign_masked_rate']:.3f} p50={res['p50_ms']:.3f} p99={res['p99_ms']:.3f} | {kinds}"
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    rows = load_rows(ROOT / "tests" / "data" / "pii_zh.jsonl")
    t0 = time.perf_counter()
    native = make_engine(native_recognizers())
    hosted = make_engine(
        [KefuRecognizer(supported_entities=[f"KEFU_{k}" for k in kefu_pii.KINDS], supported_language=LANG)]
    )
    print(f"presidio engines built in {time.perf_counter() - t0:.1f}s")
    report = []
    for split in ("all", "dev", "held", "blind"):
        sel = rows if split == "all" else [r for r in rows if r["split"] == split]
        print(f"--- {split} ({len(sel)} lines)")
        report.append(summary(f"kefu/{split}", evaluate_pii(sel, repeat=3)))
        for th in (0.3, 0.5):
            res = evaluate_pii(sel, detector=as_detector(native, th), repeat=3)
            report.append(summary(f"presidio-native@{th}/{split}", res))
        res = evaluate_pii(sel, detector=as_detector(hosted, 0.0), repeat=3)
        report.append(summary(f"presidio+kefu/{split}", res))
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
