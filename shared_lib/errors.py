"""The one exception tree. Domain code raises these; shared_lib.http maps them to HTTP once.

    StreamfnError
    ├── InvalidInput            the request is malformed or fails validation
    │   ├── PasswordTooLong
    │   └── CannotFollowSelf
    ├── PayloadTooLarge         the body is over the configured limit
    ├── UnsupportedMediaType    the body is not JSON
    ├── NotAuthenticated        no credentials, or credentials that do not verify
    │   ├── InvalidToken
    │   │   └── SessionRevoked  (commits: the revocation stands)
    │   └── InvalidCredentials
    ├── NotPermitted            authenticated, but not allowed to touch this
    ├── NotFound                no such resource
    │   └── UserNotFound
    ├── MethodNotAllowed        the route exists, the method does not
    ├── Conflict                the request clashes with existing state
    │   ├── UsernameTaken
    │   └── EmailTaken
    ├── Throttled               too many attempts; carries retry_after seconds
    ├── ProcessingFailed        media work (a remux) failed; the event is retried
    └── DependencyUnavailable   PostgreSQL or Redis cannot be reached
"""

from __future__ import annotations

from typing import Any


class StreamfnError(Exception):
    """Base of every error the API answers with. `code` is stable and machine-readable."""

    code = "error"
    default_message = "The request failed."
    # Whether what the unit of work did before this error stands: the handler pipeline then
    # commits before answering with it (a reused refresh token revokes its family, then 401).
    commits = False

    def __init__(self, message: str | None = None, *, details: list[Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details or []
        super().__init__(self.message)


class InvalidInput(StreamfnError):
    code = "invalid_input"
    default_message = "The request is not valid."


class PasswordTooLong(InvalidInput):
    code = "password_too_long"
    default_message = "Passwords are at most 72 bytes; longer ones are refused, never truncated."


class CannotFollowSelf(InvalidInput):
    code = "cannot_follow_self"
    default_message = "You cannot follow yourself."


class PayloadTooLarge(StreamfnError):
    code = "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(StreamfnError):
    code = "unsupported_media_type"
    default_message = "The request body must be JSON (Content-Type: application/json)."


class NotAuthenticated(StreamfnError):
    code = "not_authenticated"
    default_message = "A valid access token is required."


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    default_message = "The token is invalid, expired or revoked."


class SessionRevoked(InvalidToken):
    """A spent refresh token came back: its whole session is revoked, and that stands."""

    default_message = "The refresh token was already used; the session is revoked."
    commits = True


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    default_message = "Wrong username or password."


class NotPermitted(StreamfnError):
    code = "forbidden"
    default_message = "You are not allowed to do that."


class NotFound(StreamfnError):
    code = "not_found"
    default_message = "Not found."


class UserNotFound(NotFound):
    code = "user_not_found"
    default_message = "No such user."


class MethodNotAllowed(StreamfnError):
    code = "method_not_allowed"
    default_message = "That method is not allowed here."

    def __init__(self, message: str | None = None, *, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.allowed = allowed or []


class Conflict(StreamfnError):
    code = "conflict"
    default_message = "That clashes with existing state."


class UsernameTaken(Conflict):
    code = "username_taken"
    default_message = "That username is taken."


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "That email address is already registered."


class Throttled(StreamfnError):
    code = "throttled"
    default_message = "Too many attempts. Try again later."

    def __init__(self, message: str | None = None, *, retry_after: int,
                 details: list[Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = max(1, int(retry_after))


class ProcessingFailed(StreamfnError):
    """Work on media failed (ffmpeg's reason in the message); an event is retried."""

    code = "processing_failed"
    default_message = "The media could not be processed."


class DependencyUnavailable(StreamfnError):
    code = "unavailable"
    default_message = "A service this request needs is unavailable. Try again shortly."
