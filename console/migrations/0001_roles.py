"""Create the two roles. Later migrations of each app extend them with that app's permissions."""

from django.db import migrations

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR, grant, model_permissions

ADMINISTRATOR_PERMISSIONS = [
    # Schedules of the beat jobs, editable by administrators.
    *model_permissions(
        "django_celery_beat",
        [
            "periodictask",
            "intervalschedule",
            "crontabschedule",
            "solarschedule",
            "clockedschedule",
        ],
    ),
    # Login lock-outs: administrators see them and lift them (delete the attempt rows).
    *model_permissions("axes", ["accessattempt", "accessfailurelog", "accesslog"], ["view", "delete"]),
]


def create_roles(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    group_model.objects.get_or_create(name=CUSTOMER_SERVICE)
    grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=[CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
