"""Errors of the core, named by whose fault they are.

    TovholderError                      root of every error the project raises
    └── CoreError
        ├── RuleViolation               a command breaks a rule of docs/domain.md; nothing recorded
        │   └── UnknownReference        names a case, person, goal, consent ... that is not there
        ├── InvalidInput                a value of the wrong shape (date, CPR, category, ...)
        │   └── InvalidField            a payload names a field its event kind lacks, or lacks one
        ├── CodecError                  bytes that are not a well-formed sealed event or payload
        ├── DecryptionError             a ciphertext that does not open under its key
        │   └── WrongPassphrase         a laptop store opened with the wrong passphrase
        ├── CaseErased                  the case key was destroyed; the case cannot be read
        ├── KeyNotHeld                  no key for the case is held here
        ├── NoSuchEvent                 no event is stored at the position asked for
        ├── SignatureInvalid            a batch whose device signature does not verify
        ├── VersionConflict             a stale append lost the race for a case sequence
        │   └── CaseMoved               a case gained events since the batch was judged against it
        ├── AccessLogUnwritable         a look at a case cannot be logged, so it is refused
        ├── BatchIdReused               a batch id already kept for other events or another device
        └── ConfigurationError          settings that cannot be used

Every message says what was wrong in the domain's words and never carries a name, a
CPR number or a note.
"""

from __future__ import annotations


class TovholderError(Exception):
    """Root of all errors raised by Tovholder."""


class CoreError(TovholderError):
    """Base of errors raised by the core."""


class RuleViolation(CoreError):
    """A command breaks a rule of the domain; nothing was recorded."""


class UnknownReference(RuleViolation):
    """A command refers to something the case does not have."""


class InvalidInput(CoreError):
    """A value does not have the shape the domain requires."""


class InvalidField(InvalidInput, TypeError):
    """A payload names a field its kind of event does not have, or lacks one it needs.

    Also a TypeError, which is what calling the event class with that keyword raises, so
    code that builds events directly sees the same kind of error as before.
    """


class CodecError(CoreError):
    """Bytes that do not decode to a well-formed sealed event or payload."""


class DecryptionError(CoreError):
    """A ciphertext did not open: wrong key, or the bytes were altered."""


class WrongPassphrase(DecryptionError):
    """The worker's passphrase does not open this laptop store."""


class CaseErased(CoreError):
    """The case key was destroyed (erasure); its events can no longer be read."""


class KeyNotHeld(CoreError):
    """No data key for this case is held here."""


class SignatureInvalid(CoreError):
    """A device signature does not verify over the events it claims to cover."""


class VersionConflict(CoreError):
    """Another writer appended to the case first; reload and try again."""


class CaseMoved(VersionConflict):
    """A case gained events after a batch was judged against it: the batch must be judged
    again against the case as it is now before any of it is stored."""


class BatchIdReused(CoreError):
    """A batch arrived under an id whose manifest the log already keeps for other events
    (or another device); nothing of it is stored."""


class NoSuchEvent(CoreError):
    """No event is stored at a position asked for: beyond the log, or left free by an
    append that was rolled back."""


class ConfigurationError(CoreError):
    """Settings that cannot be used as given."""


class AccessLogUnwritable(CoreError):
    """The access log cannot be written, so the read it would record is refused (rule 8:
    every look at a case is logged before it is seen)."""
