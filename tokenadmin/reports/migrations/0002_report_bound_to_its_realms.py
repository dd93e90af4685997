"""A report always names its realms: with a saved view, the view's realm is stored too, and the
view may not be deleted while a report uses it. A report found bound to nothing (its view was
deleted before this) is switched off; only master's admin sees it until someone fixes it."""

import django.db.models.deletion
from django.db import migrations, models


def bind_reports_to_realms(apps, schema_editor):
    ExpiryReport = apps.get_model("reports", "ExpiryReport")
    for report in ExpiryReport.objects.select_related("saved_view", "periodic_task"):
        if report.saved_view_id:
            report.realms = [report.saved_view.realm]
            report.save(update_fields=["realms"])
        elif not report.realms:
            report.enabled = False
            report.save(update_fields=["enabled"])
            if report.periodic_task_id:
                report.periodic_task.enabled = False
                report.periodic_task.save(update_fields=["enabled"])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_create_reports_and_runs"),
        ("sessionindex", "0001_create_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterField(
            model_name="expiryreport",
            name="saved_view",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="sessionindex.savedview",
            ),
        ),
        migrations.RunPython(bind_reports_to_realms, migrations.RunPython.noop),
    ]
