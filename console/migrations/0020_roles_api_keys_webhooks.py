"""Number administrators manage the API keys and the webhook subscriptions (credentials of the
applications they own), read the outbox and redeliver; customer service gets nothing of it."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, revoke

ADMINISTRATOR = [
    "console.add_apikey",
    "console.change_apikey",
    "console.view_apikey",
    "console.add_webhooksubscription",
    "console.change_webhooksubscription",
    "console.view_webhooksubscription",
    "console.view_webhookmessage",
    "console.view_webhookdelivery",
    "console.change_webhookdelivery",  # redeliver
]


class Migration(migrations.Migration):
    dependencies = [("console", "0019_api_keys_webhooks")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR),
            lambda apps, schema_editor: revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR),
        ),
    ]
