"""Log intelligence: template mining, windowed summaries, incidents and their narrative, as
plain typed code that the log agent, the CLI and the benchmarks call.

The log agent calls ``LogStage.process(batch of LogLine)``: it returns each line with its
template id and parameters, the id changes to apply to lines stored before, the windows the
batch closed and the incident transitions; ``miner_states()`` / ``restore_miners()`` carry the
templates across restarts. Underneath, per service, ``TemplateMiner.add(message)`` mines; a
``LogRecord`` of each line goes to a ``WindowSummarizer`` per window size, whose closed
``WindowSummary``s go to an ``IncidentDetector`` and to ``describe_window`` / ``summary_input``.
"""

from opsassist.streams.logs._accuracy import grouping_accuracy, parsing_accuracy
from opsassist.streams.logs._incidents import (
    Incident,
    IncidentDetector,
    IncidentStatus,
    IncidentTransition,
    Severity,
    TransitionKind,
)
from opsassist.streams.logs._masking import (
    ALL_RULES,
    WILDCARD,
    MaskingRules,
    mask_message,
    template_pattern,
)
from opsassist.streams.logs._miner import (
    STATE_VERSION,
    IdChange,
    MinerStateError,
    TemplateInfo,
    TemplateMatch,
    TemplateMiner,
    template_id,
)
from opsassist.streams.logs._narrative import (
    IncidentEvidence,
    SummaryInput,
    TemplateEvidence,
    describe_duration,
    describe_transition,
    describe_window,
    summary_input,
)
from opsassist.streams.logs._stage import BatchResult, LogLine, LogStage, LogStageConfig, MinedLine
from opsassist.streams.logs._windows import (
    LogRecord,
    Redactor,
    TemplateCount,
    WindowSummarizer,
    WindowSummary,
    no_redaction,
    normalize_level,
)

__all__ = [
    "ALL_RULES",
    "STATE_VERSION",
    "WILDCARD",
    "BatchResult",
    "IdChange",
    "Incident",
    "IncidentDetector",
    "IncidentEvidence",
    "IncidentStatus",
    "IncidentTransition",
    "LogLine",
    "LogRecord",
    "LogStage",
    "LogStageConfig",
    "MaskingRules",
    "MinedLine",
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
    "describe_duration",
    "describe_transition",
    "describe_window",
    "grouping_accuracy",
    "mask_message",
    "no_redaction",
    "normalize_level",
    "parsing_accuracy",
    "summary_input",
    "template_id",
    "template_pattern",
]
