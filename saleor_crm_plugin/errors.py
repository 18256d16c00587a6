"""The one error shape for bad input: which field, and what is wrong with it. Pure."""


class FieldError(ValueError):
    """A value is wrong: `field` names it (as the user spelled it) and `message` says why."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
