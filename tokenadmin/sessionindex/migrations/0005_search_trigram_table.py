"""On SQLite, a trigram full-text table over IndexedSession.search_text, kept in step by triggers.

A search then finds its matches through the trigram index instead of testing the text of every
session of the realm (tokenadmin/sessionindex/search.py reads it). Each entry's rowid carries
the realm (a small code from sessionindex_searchrealm), the type and the session's row id:
code << 40 | offline << 39 | id, so a realm's matches, and each type's, are one rowid range.
Every writer of IndexedSession (the refresh's SQL, the ORM, deletes) goes through the
triggers. Other databases get nothing here and search by scanning.
"""

from django.db import migrations

_ROWID = "((SELECT code FROM sessionindex_searchrealm WHERE realm = {row}.realm) << 40) | ({row}.offline << 39) | {row}.id"

# Not INSERT OR IGNORE: inside a trigger the outer statement's conflict policy wins, and the
# refresh's upsert (ON CONFLICT DO UPDATE) would fail on an existing realm.
_REALM_CODE_NEW = (
    "INSERT INTO sessionindex_searchrealm (realm) SELECT NEW.realm WHERE NOT EXISTS "
    "(SELECT 1 FROM sessionindex_searchrealm WHERE realm = NEW.realm); "
)

_INSERT_NEW = (
    "INSERT INTO sessionindex_search (rowid, search_text) "
    f"VALUES ({_ROWID.format(row='NEW')}, NEW.search_text); "
)
_DELETE_OLD = f"DELETE FROM sessionindex_search WHERE rowid = {_ROWID.format(row='OLD')}; "

CREATE = [
    "CREATE TABLE sessionindex_searchrealm (code INTEGER PRIMARY KEY, realm TEXT NOT NULL UNIQUE)",
    # case_sensitive 1: search_text is lowered already, as the search term is (ASCII letters,
    # as SQLite's lower() does); the table then matches exactly what instr() on it matches.
    "CREATE VIRTUAL TABLE sessionindex_search USING fts5(search_text, tokenize='trigram case_sensitive 1')",
    "INSERT INTO sessionindex_searchrealm (realm) SELECT DISTINCT realm FROM sessionindex_indexedsession",
    "INSERT INTO sessionindex_search (rowid, search_text) "
    f"SELECT {_ROWID.format(row='s')}, s.search_text FROM sessionindex_indexedsession s",
    "CREATE TRIGGER sessionindex_search_insert AFTER INSERT ON sessionindex_indexedsession "
    f"BEGIN {_REALM_CODE_NEW}{_INSERT_NEW}END",
    "CREATE TRIGGER sessionindex_search_delete AFTER DELETE ON sessionindex_indexedsession "
    f"BEGIN {_DELETE_OLD}END",
    "CREATE TRIGGER sessionindex_search_update "
    "AFTER UPDATE OF realm, offline, search_text ON sessionindex_indexedsession "
    f"BEGIN {_DELETE_OLD}{_REALM_CODE_NEW}{_INSERT_NEW}END",
]

DROP = [
    "DROP TRIGGER IF EXISTS sessionindex_search_update",
    "DROP TRIGGER IF EXISTS sessionindex_search_delete",
    "DROP TRIGGER IF EXISTS sessionindex_search_insert",
    "DROP TABLE IF EXISTS sessionindex_search",
    "DROP TABLE IF EXISTS sessionindex_searchrealm",
]


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("sessionindex", "0004_drop_seen_index_add_lifespans_fingerprint"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
