"""Ticket triage: category, priority, team, confidence and explanation, with abstention; the
status workflow and SLA; corrections as training examples. Plain typed code, no I/O besides
reading a configuration file.

Typical use by a worker::

    triager = Triager(load_config(settings.triage_config), TriageModel.from_bytes(blob))
    results = await triager.triage_batch_async(tickets)   # or triager.triage_batch(tickets)
    triager.use_model(TriageModel.from_bytes(newer_blob))  # hot swap, no restart
"""

from opsassist.streams.triage._config import (
    Category,
    Rule,
    SlaPolicy,
    TriageConfig,
    load_config,
    parse_config,
)
from opsassist.streams.triage._corrections import (
    OVERRIDE_FIELDS,
    Override,
    OverrideField,
    StoredTicket,
    apply_override,
    build_training_set,
    make_override,
    override_counts,
    training_examples_from_tickets,
    with_human_fields,
)
from opsassist.streams.triage._evaluation import (
    EvaluationReport,
    InvalidLabelledFile,
    LabelledRow,
    RepoScore,
    cross_validate_per_repo,
    cross_validate_pooled,
    evaluate_per_repo,
    read_labelled_csv,
)
from opsassist.streams.triage._model import (
    ModelSpec,
    Prediction,
    TrainingExample,
    TriageModel,
    train_model,
)
from opsassist.streams.triage._ticket import (
    PRIORITIES,
    Explanation,
    Layer,
    Ticket,
    Triage,
    WeightedTerm,
    ticket_from_payload,
)
from opsassist.streams.triage._triager import LlmClassifier, LlmVerdict, Triager
from opsassist.streams.triage._workflow import (
    ALLOWED_TRANSITIONS,
    SlaState,
    Status,
    WorkflowState,
    allowed_transitions,
    apply_transition,
    check_transition,
    new_workflow,
    parse_status,
    sla_due_at,
    sla_state,
)
from opsassist.streams.triage.errors import (
    InvalidModel,
    InvalidOverride,
    InvalidTransition,
    InvalidTriageConfig,
    NotEnoughTrainingData,
    TriageError,
    UnknownStatus,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "OVERRIDE_FIELDS",
    "PRIORITIES",
    "Category",
    "EvaluationReport",
    "Explanation",
    "InvalidLabelledFile",
    "InvalidModel",
    "InvalidOverride",
    "InvalidTransition",
    "InvalidTriageConfig",
    "LabelledRow",
    "Layer",
    "LlmClassifier",
    "LlmVerdict",
    "ModelSpec",
    "NotEnoughTrainingData",
    "Override",
    "OverrideField",
    "Prediction",
    "RepoScore",
    "Rule",
    "SlaPolicy",
    "SlaState",
    "Status",
    "StoredTicket",
    "Ticket",
    "TrainingExample",
    "Triage",
    "TriageConfig",
    "TriageError",
    "TriageModel",
    "Triager",
    "UnknownStatus",
    "WeightedTerm",
    "WorkflowState",
    "allowed_transitions",
    "apply_override",
    "apply_transition",
    "build_training_set",
    "check_transition",
    "cross_validate_per_repo",
    "cross_validate_pooled",
    "evaluate_per_repo",
    "load_config",
    "make_override",
    "new_workflow",
    "override_counts",
    "parse_config",
    "parse_status",
    "read_labelled_csv",
    "sla_due_at",
    "sla_state",
    "ticket_from_payload",
    "train_model",
    "training_examples_from_tickets",
    "with_human_fields",
]
