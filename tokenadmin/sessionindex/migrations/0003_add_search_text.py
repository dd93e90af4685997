from django.db import migrations, models

# The rows already indexed get the text the refresh writes (see search_text_of).
FILL = (
    "UPDATE sessionindex_indexedsession SET search_text = "
    "LOWER(username || '\n' || ip_address || '\n' || client_ids_text)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("sessionindex", "0002_add_sort_and_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="indexedsession",
            name="search_text",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="indexedsession",
            index=models.Index(
                fields=["realm", "search_text", "offline"], name="idx_sess_search_text"
            ),
        ),
    ]
