"""Is the document genuine? One named signal per way a fake shows itself.

Each check module returns `AuthenticitySignal`s; `verify` puts all of them in the report's document
section and refuses the document (`document_unverified_other`) on the first that fired.
"""

from processing.authenticity.signal import AuthenticitySignal

__all__ = ["AuthenticitySignal"]
