"""Read-side queries of the API: filtered, keyset-paginated lists, histories and aggregates.

Every value is bound as a parameter; SQL text is assembled only from fragments written here.
"""

from opsassist.store.reads._keyset import Cursor, InvalidCursor, Page, PageRequest, Sort
from opsassist.store.reads._where import Where

__all__ = ["Cursor", "InvalidCursor", "Page", "PageRequest", "Sort", "Where"]
