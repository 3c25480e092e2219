"""Presidio's analyzer as the benchmark's reference, in the same process and on the same records.

Presidio needs a spaCy pipeline. Its default, ``en_core_web_lg``, and the smaller
``en_core_web_sm`` are published on GitHub and Hugging Face, not on PyPI, so they cannot be
installed here; when one of them is importable it is used. Otherwise Presidio runs on a blank
spaCy English pipeline (tokenizer only): every pattern recognizer (e-mail, phone, card, IBAN,
SSN, IP, URL, ...) works as usual, and the NER recognizer (PERSON, LOCATION, NRP, DATE_TIME
from the model) finds nothing.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Gold labels of presidio-research's synthetic set as its reference evaluation maps them.
GOLD_TO_PRESIDIO = {"STREET_ADDRESS": "LOCATION", "GPE": "LOCATION", "DOMAIN_NAME": "URL"}
MODELS = ("en_core_web_lg", "en_core_web_sm")


@dataclass(frozen=True, slots=True)
class PresidioReference:
    analyzer: Any
    model: str  # what spaCy pipeline it runs on

    def find(self, text: str) -> list[tuple[str, int, int]]:
        results = self.analyzer.analyze(text=text, language="en", score_threshold=0.4)
        return [(result.entity_type, result.start, result.end) for result in results]


def load_presidio() -> PresidioReference | str:
    """The analyzer with its default recognizers, or why it cannot run here."""
    try:
        import spacy
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError as exc:
        return f"presidio-analyzer is not installed ({exc}); pip install -e '.[bench]'"
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    _offline_public_suffixes()
    model = next((name for name in MODELS if spacy.util.is_package(name)), None)
    if model is None:
        directory = Path(tempfile.mkdtemp(prefix="opsassist-spacy-blank-en-"))
        spacy.blank("en").to_disk(directory)
        model_path, label = str(directory), "blank spaCy 'en' (no NER model on PyPI)"
    else:
        model_path, label = model, model
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": model_path}],
        }
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    return PresidioReference(analyzer, label)


def _offline_public_suffixes() -> None:
    """Presidio's e-mail and URL recognizers ask tldextract, which fetches the public suffix
    list from GitHub on first use; the benchmark uses the snapshot the package ships instead."""
    import tldextract
    import tldextract.tldextract as module

    module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
