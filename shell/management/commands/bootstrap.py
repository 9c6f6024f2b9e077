"""``manage.py bootstrap``: everything `make run` does before starting the processes.

Migrates, compiles translations, collects static files and creates the demo users. Safe to run
again: existing users keep their passwords (printed once, when they were created).
"""

from __future__ import annotations

import secrets
import shutil

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from console.models import Application
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from shell import demo

DEMO_USERS = (
    ("admin", NUMBER_ADMINISTRATOR, "number administrator"),
    ("staff", CUSTOMER_SERVICE, "customer service"),
)


class Command(BaseCommand):
    help = "Prepare the database, translations, static files and demo users."

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if shutil.which("msgfmt"):
            call_command("compilemessages", ignore_patterns=[".venv", "var"], verbosity=0)
        else:
            self.stderr.write("msgfmt not found: the console will speak English only.")
        call_command("collectstatic", interactive=False, verbosity=0)
        created = self.ensure_demo_users()
        config = demo.write_simulator_config()
        self.stdout.write(f"Simulator config: {config}")
        if settings.DEMO and (not Application.objects.exists() or demo.demo_applications()):
            call_command("load_demo")  # adds what the demo lacks (a mode added since, all)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Console: {settings.CONSOLE_BASE_URL}/"))
        for username, password, label in created:
            self.stdout.write(f"  {label:<22} user {username:<8} password {password}")
        if created:
            self.stdout.write("  These passwords are shown only this once.")
        else:
            self.stdout.write(
                "  Demo users 'admin' and 'staff' exist; their passwords were printed when they "
                "were created. Reset one with: .venv/bin/python manage.py changepassword admin"
            )
        self.stdout.write("")

    def ensure_demo_users(self) -> list[tuple[str, str, str]]:
        user_model = get_user_model()
        created = []
        for username, role, label in DEMO_USERS:
            if user_model.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(9)
            user = user_model.objects.create_user(
                username=username, password=password, is_staff=True
            )
            user.groups.add(Group.objects.get(name=role))
            created.append((username, password, label))
        return created
