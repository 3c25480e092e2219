"""Log intelligence: template mining, windowed summaries, incidents and their narrative, as
plain typed code that the log agent, the CLI and the benchmarks call."""

from streams.logs.accuracy import grouping_accuracy, parsing_accuracy
from streams.logs.masking import WILDCARD, mask_message
from streams.logs.miner import (
    IdChange,
    MinerStateError,
    TemplateInfo,
    TemplateMatch,
    TemplateMiner,
    template_id,
)

__all__ = [
    "WILDCARD",
    "IdChange",
    "MinerStateError",
    "TemplateInfo",
    "TemplateMatch",
    "TemplateMiner",
    "grouping_accuracy",
    "mask_message",
    "parsing_accuracy",
    "template_id",
]
