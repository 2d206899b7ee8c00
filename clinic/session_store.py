"""Staff sessions: read from the shared cache, written through to the database, and still usable
while the cache is down.

Django's cached_db store already falls back to the database when a read from the cache fails,
but it then copies the row into the cache without catching the failure, and its existence check
(made for every new session key, at each login) and its delete (at each logout) raise too: with
Redis down no page would open and nobody could log in or out. Here all three go on with the
database, which is the record of every session; the cache only spares staff pages a query.
"""

import logging

from django.contrib.sessions.backends import cached_db, db

logger = logging.getLogger(__name__)


def _unreachable(exc: Exception, doing: str) -> None:
    logger.warning("Session cache unreachable (%s): %s", type(exc).__name__, doing)


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception as exc:  # noqa: BLE001 - any cache error: the database answers
            _unreachable(exc, "read the session from the database")
            data = None
        if data is not None:
            return data
        row = self._get_session_from_db()
        if not row:
            return {}
        data = self.decode(row.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=row.expire_date))
        except Exception as exc:  # noqa: BLE001
            _unreachable(exc, "not cached")
        return data

    def exists(self, session_key):
        if session_key:
            try:
                if (self.cache_key_prefix + session_key) in self._cache:
                    return True
            except Exception as exc:  # noqa: BLE001
                _unreachable(exc, "asked the database whether the key is taken")
        return db.SessionStore.exists(self, session_key)

    def delete(self, session_key=None):
        session_key = session_key or self.session_key
        db.SessionStore.delete(self, session_key)
        if session_key is None:
            return
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception as exc:  # noqa: BLE001
            # The row is gone. A cache that kept its copy through the outage (a network split
            # rather than a restart) would still serve it until it expires: say so loudly, so
            # whoever runs the clinic's Redis can empty its cache database.
            logger.error(
                "Session cache unreachable (%s): a logged-out session's cached copy could not "
                "be deleted and lives until it expires (SESSION_COOKIE_AGE)",
                type(exc).__name__,
            )
