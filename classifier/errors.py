"""Classifier errors."""


class ClassifierError(Exception):
    """Base class of classifier errors."""


class CorpusError(ClassifierError):
    """The labelled corpus is malformed; `problems` name file and line."""

    def __init__(self, problems: list):
        self.problems = problems
        first = problems[0] if problems else "empty corpus"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}")


class ModelFileError(ClassifierError):
    """A model file is missing, outside the model directory, altered, or of untrusted types."""


class QualityGateError(ClassifierError):
    """An evaluation figure fell below its pinned floor; `failures` names each one."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        super().__init__("quality gate failed: " + "; ".join(failures))
