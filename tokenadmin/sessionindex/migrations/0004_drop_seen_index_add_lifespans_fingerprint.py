from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessionindex", "0003_add_search_text"),
    ]

    operations = [
        # Nothing pages or filters by seen_at; the index only cost a rewrite of each row's
        # entry on every refresh's end-of-run stamp.
        migrations.RemoveIndex(model_name="indexedsession", name="idx_sess_seen"),
        migrations.AddField(
            model_name="realmindex",
            name="lifespans_fingerprint",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
