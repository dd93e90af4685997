from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessionindex", "0008_add_all_signed_out_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="RealmFigures",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("realm", models.CharField(max_length=255, unique=True)),
                ("online", models.PositiveIntegerField(default=0)),
                ("offline", models.PositiveIntegerField(default=0)),
                ("users", models.PositiveIntegerField(default=0)),
                ("unknown_expiry", models.PositiveIntegerField(default=0)),
                ("expiry_bins", models.JSONField(default=dict)),
                ("client_sets", models.JSONField(default=dict)),
                ("set_bins", models.JSONField(default=dict)),
                ("user_bins", models.JSONField(default=dict)),
                ("fine_until", models.BigIntegerField(default=0)),
                ("written_at", models.DateTimeField(auto_now=True)),
            ],
        ),
    ]
