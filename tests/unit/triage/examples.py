"""A small hand-written labelled set: enough for the model to learn obvious signals."""

from __future__ import annotations

from opsassist.streams.triage import Ticket, TrainingExample

_INCIDENT = [
    ("App crashes on startup", "The app crashes with a segfault right after launch."),
    ("Error 500 when saving", "Saving a record returns error 500 and the stack trace shows null."),
    ("Login page broken", "The login page is broken and throws an exception since the update."),
    ("Crash when opening file", "Opening a large file crashes the editor with an exception."),
    ("Wrong totals in report", "The report shows wrong totals; this is a regression from 2.1."),
    ("Timeout error on upload", "Uploads fail with a timeout error and a traceback in the log."),
    ("Exception in scheduler", "Scheduler throws exception and crashes every night."),
    ("Broken link after deploy", "Since the deploy the link is broken and returns error 404."),
    ("Null pointer crash", "Null pointer exception crashes the worker on empty input."),
    ("Memory leak crashes service", "The service leaks memory and crashes after two days."),
]
_FEATURE = [
    ("Add dark mode", "It would be great to add a dark mode option to the settings."),
    ("Support CSV export", "Please add support for exporting the table to CSV."),
    ("Add keyboard shortcut", "Feature request: add a keyboard shortcut to open search."),
    ("Allow custom themes", "It would be nice to allow users to add custom themes."),
    ("Add filter by date", "Please add an option to filter the list by date."),
    ("Support multiple accounts", "Would be great to support switching between accounts."),
    ("Add API for webhooks", "Feature: add an API to register webhooks for new events."),
    ("Option to disable sounds", "Please add an option to disable notification sounds."),
    ("Add bulk edit", "It would be great to add bulk edit for selected rows."),
    ("Support SSO login option", "Please add support for SSO as a login option."),
]
_QUESTION = [
    ("How do I configure the proxy?", "How can I configure the proxy settings? Is there a doc?"),
    ("How to install on Windows?", "What is the recommended way to install on Windows?"),
    ("Where are logs stored?", "Where can I find the log files? How do I change the path?"),
    ("Is there a way to batch import?", "Is there a way to import many items? How do I do it?"),
    ("What does this setting mean?", "What does the retention setting do? Could you explain?"),
    ("How to upgrade safely?", "How should I upgrade from 1.x to 2.x? Any guide?"),
    ("Which version supports Python 3.11?", "Which release supports Python 3.11? How to check?"),
    ("How can I reset my token?", "How do I reset the API token? Where is the option?"),
    ("Question about licensing", "Can I use this commercially? What license applies?"),
    ("How to run tests locally?", "How do I run the test suite locally? What do I need?"),
]

EXAMPLES: list[TrainingExample] = [
    TrainingExample(Ticket(title=t, body=b, id=f"{label}-{i}"), label)
    for label, rows in (
        ("incident", _INCIDENT),
        ("feature_request", _FEATURE),
        ("question", _QUESTION),
    )
    for i, (t, b) in enumerate(rows)
]
