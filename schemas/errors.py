"""The error every decoder raises for input it cannot accept; its text is the dead-letter reason."""


class InvalidEvent(ValueError):
    """The bytes are not a valid event for this topic.

    ``code`` is a short, stable machine-readable cause (``invalid_json``,
    ``unknown_schema_version``, ``validation_error``, ``wrong_kind``); ``str(exc)`` says what
    exactly is wrong.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
