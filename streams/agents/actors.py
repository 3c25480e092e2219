"""Who decided what the worker writes, as the history records it (docs/history.md).

Every actor is ``agent:<component>``: the tickets' guard trigger (migration 0007) keeps what a
person set against any ``agent:`` write, and the actor is also written into the row's
``changed_by``, so an actor outside that family would let the worker overwrite a person's
correction. Where a trained model or an LLM decided, the actor carries which one and which
prompt version.
"""

from __future__ import annotations

from typing import Any

from opsassist.llm import LLMResult
from opsassist.store.history import Actor

#: The ticket's category, priority and team (rules, the trained model or the LLM).
TRIAGE = "agent:triage"


def llm_actor(who: str, result: LLMResult[Any]) -> Actor:
    """``who``, with the LLM's model(s) and prompt version(s) that produced ``result``
    (``<prompt id>.v<version>``, as the prompt files are named; several joined by commas)."""
    return Actor(
        who,
        model=",".join(result.models) or None,
        prompt_version=",".join(f"{pid}.v{version}" for pid, version in result.prompts) or None,
    )
