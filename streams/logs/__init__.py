"""Log intelligence: template mining, windowed summaries, incidents and their narrative, as
plain typed code that the log agent, the CLI and the benchmarks call.

Per batch, for each line of a service: ``TemplateMiner.add(message)`` gives the template id
(and ``parameters()``) to store and the generalizations to re-label; a ``LogRecord`` of the line
goes to a ``WindowSummarizer`` per window size, whose closed ``WindowSummary``s go to an
``IncidentDetector`` (transitions to keep) and to ``describe_window`` / ``summary_input``.
"""

from streams.logs.accuracy import grouping_accuracy, parsing_accuracy
from streams.logs.incidents import (
    Incident,
    IncidentDetector,
    IncidentStatus,
    IncidentTransition,
    Severity,
    TransitionKind,
)
from streams.logs.masking import WILDCARD, mask_message
from streams.logs.miner import (
    IdChange,
    MinerStateError,
    TemplateInfo,
    TemplateMatch,
    TemplateMiner,
    template_id,
)
from streams.logs.narrative import (
    IncidentEvidence,
    SummaryInput,
    TemplateEvidence,
    describe_transition,
    describe_window,
    summary_input,
)
from streams.logs.windows import (
    LogRecord,
    Redactor,
    TemplateCount,
    WindowSummarizer,
    WindowSummary,
    no_redaction,
    normalize_level,
)

__all__ = [
    "WILDCARD",
    "IdChange",
    "Incident",
    "IncidentDetector",
    "IncidentEvidence",
    "IncidentStatus",
    "IncidentTransition",
    "LogRecord",
    "MinerStateError",
    "Redactor",
    "Severity",
    "SummaryInput",
    "TemplateCount",
    "TemplateEvidence",
    "TemplateInfo",
    "TemplateMatch",
    "TemplateMiner",
    "TransitionKind",
    "WindowSummarizer",
    "WindowSummary",
    "describe_transition",
    "describe_window",
    "grouping_accuracy",
    "mask_message",
    "no_redaction",
    "normalize_level",
    "parsing_accuracy",
    "summary_input",
    "template_id",
]
