"""On PostgreSQL, a trigram index (pg_trgm, GIN) over IndexedSession.search_text.

The sessions page searches with `search_text LIKE '%term%'`; with this index PostgreSQL finds a
rare term's rows without reading the realm's. pg_trgm ships with PostgreSQL and is a trusted
extension (PostgreSQL 13+): the database's owner may create it. An account that may not is told
so, and the search keeps working by scanning. SQLite has its own table (migration 0005).
"""

from django.db import migrations, transaction


def create(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # the account may not create extensions
        # In migrate's own output, where whoever deploys reads.
        print(f"\n  pg_trgm not available ({type(exc).__name__}): session search will scan.")
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS idx_sess_search_trgm ON sessionindex_indexedsession "
        "USING gin (search_text gin_trgm_ops)"
    )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS idx_sess_search_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("sessionindex", "0005_search_trigram_table"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
