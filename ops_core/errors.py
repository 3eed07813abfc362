"""The errors a user can be shown: each carries a message meant for a person, not a traceback."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class OpsError(Exception):
    """Base of every error the app and the command line turn into one clear message."""


class StoreUnavailable(OpsError):
    """The database cannot be reached, opened or written (bad URL, server down, read-only folder)."""


class UsageError(OpsError):
    """A command or function was called with arguments out of range, an unknown name or a missing file."""


class Refused(UsageError):
    """A rule of the product refuses the action. Carries the translation key of its explanation and the
    values in it, so a page says it in the reader's language (``message``); ``str()`` is the English.
    A value that itself differs by language (``i18n.Phrase``, ``i18n.Either``: a label) is read in the
    reader's language too."""

    def __init__(self, key: str, **values: object):
        from ops_core.i18n import Phrase

        self.key = key
        self.values = values
        super().__init__(str(Phrase(key, **values)))

    def message(self, lang: str) -> str:
        from ops_core.i18n import Phrase

        return Phrase(self.key, **self.values).read(lang)


class PermissionDenied(OpsError):
    """The acting user's role does not allow this change. ``str()`` is the English for logs and the
    command line; ``message`` says it in the reader's language (the role it needs, as a word)."""

    def __init__(self, text: str, *, needed: str | None = None):
        self.needed = needed
        super().__init__(text)

    def message(self, lang: str) -> str:
        from ops_core.i18n import t

        if self.needed is None:
            return t("denied.any", lang)
        return t("denied.role", lang, role=t(f"role.{self.needed}", lang))


class ValidationError(OpsError):
    """Bad input; every problem names its row (1-based, as a person counts them) and field."""

    def __init__(self, problems: list[tuple[int | None, str, str]]):
        self.problems = problems
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        """Every problem (the first 20) in ``lang``, each naming its row, field and value."""
        from ops_core.i18n import say, t

        lines = [t("problem.where", lang, row=row, field=say(field, lang), message=say(msg, lang)) if row is not None
                 else t("problem.where.field", lang, field=say(field, lang), message=say(msg, lang))
                 for row, field, msg in self.problems[:20]]
        more = len(self.problems) - 20
        if more > 0:
            lines.append(t("problem.more", lang, count=more))
        return ("；" if lang == "zh" else "; ").join(lines)


class StaleVersion(OpsError):
    """Optimistic concurrency: the record changed since the caller read it. Carries the newer values, and
    (``last``: actor, at) who made them when the audit log cannot name them by the record's own key."""

    def __init__(self, entity: str, record_id: Any, expected: int, current: dict[str, Any] | None,
                 last: dict[str, Any] | None = None):
        self.entity = entity
        self.record_id = record_id
        self.expected = expected
        self.current = current
        self.last = last
        if current is None:
            msg = f"{entity} {record_id} was deleted by someone else; nothing was changed"
        else:
            msg = (
                f"{entity} {record_id} was changed by someone else (your version {expected}, "
                f"now version {current.get('version')}); nothing was changed. Newer values: {current}"
            )
        super().__init__(msg)


class Conflict(OpsError):
    """Another user's committed change clashes with this one: the same record created twice at once,
    or a record it refers to removed meanwhile. Nothing of the action was saved."""


def require_columns(frame: Any, columns: Sequence[str], what: str) -> None:
    """UsageError naming every column ``frame`` (a DataFrame) lacks, before a calculation reads them."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UsageError(f"{what} lacks the column(s) {', '.join(repr(c) for c in missing)} (required: {', '.join(columns)})")


def first_line(exc: BaseException) -> str:
    """The first line of an error's message: drivers append the SQL and hints below it."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
