"""``manage.py add_application``: register a platform application from the shell."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from console.choices import Mode
from console.models import Application


class Command(BaseCommand):
    help = "Create a platform application (its APP_Secret is stored encrypted)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--mode", required=True, choices=Mode.values)
        parser.add_argument("--app-key", required=True)
        parser.add_argument("--app-secret", required=True)
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--extension-length", type=int, default=None)
        parser.add_argument("--recording", action="store_true", help="recording enabled")
        parser.add_argument("--sms", action="store_true", help="SMS enabled")

    def handle(self, *args, **options) -> None:
        application = Application(
            name=options["name"],
            mode=options["mode"],
            app_key=options["app_key"],
            base_url=options["base_url"],
            extension_length=options["extension_length"],
            recording_enabled=options["recording"],
            sms_enabled=options["sms"],
        )
        application.set_secret(options["app_secret"])
        try:
            application.full_clean()
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
            )
            raise CommandError(f"Application not created: {problems}") from None
        application.save()
        self.stdout.write(f"Created application {application} with APP_Key {application.app_key}.")
        for field, url in Application.receiver_urls().items():
            self.stdout.write(f"  configure {field} on the platform: {url}")
