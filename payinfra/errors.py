"""The project's own error types; each carries a message written for the person at the terminal."""


class PayinfraError(Exception):
    """Base class: the CLI prints the message without a traceback and exits with `exit_code`."""

    exit_code = 1


class ConfigError(PayinfraError):
    """The environment YAML is missing, malformed or invalid."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class RenderError(PayinfraError):
    """Rendering or writing the Terraform root failed."""
