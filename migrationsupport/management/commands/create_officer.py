"""``manage.py create_officer <username> --role editor|publisher``: an officer account with a role.

The password comes from ``--password``, else the ``OFFICER_PASSWORD`` environment variable, else
an interactive prompt (asked twice). Running it again for an existing officer changes their role
(and password or email when given), so it is safe to use from provisioning scripts.
"""

from __future__ import annotations

import getpass
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from migrationsupport import roles

ROLES = {"editor": roles.EDITOR, "publisher": roles.PUBLISHER}
PASSWORD_ENV = "OFFICER_PASSWORD"  # noqa: S105 - the name of a variable, not a password


class Command(BaseCommand):
    help = "Create (or update) an officer account with the Editor or Publisher role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--email", default=None)
        parser.add_argument(
            "--password",
            default=None,
            help=f"Prefer the {PASSWORD_ENV} environment variable or the prompt: "
            "a password on the command line is visible to other users of the machine.",
        )
        parser.add_argument(
            "--no-input", action="store_false", dest="interactive", help="Never prompt for a password."
        )

    def handle(self, *args, username, role, email, password, interactive, **options):
        User = get_user_model()
        try:
            group = Group.objects.get(name=ROLES[role])
        except Group.DoesNotExist as exc:
            raise CommandError(
                f"The {ROLES[role]} role does not exist yet: run `manage.py migrate`."
            ) from exc

        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        creating = user is None
        if creating:
            user = User(**{User.USERNAME_FIELD: username})
        password = password or os.environ.get(PASSWORD_ENV) or None
        if password is None and creating:
            if not interactive:
                raise CommandError(f"Give a password with {PASSWORD_ENV} (or --password) when not prompting.")
            password = self._prompt_password()
        if email is not None:
            user.email = email
        if password is not None:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("The password is too weak: " + " ".join(exc.messages)) from exc
            user.set_password(password)
        user.is_staff = True
        user.is_active = True

        with transaction.atomic():
            user.save()
            user.groups.remove(*Group.objects.filter(name__in=ROLES.values()).exclude(pk=group.pk))
            user.groups.add(group)
        verb = "Created" if creating else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} officer {username} with the {group.name} role."))

    def _prompt_password(self) -> str:
        for _attempt in range(3):
            first = getpass.getpass("Password: ")
            if first and first == getpass.getpass("Password (again): "):
                return first
            self.stderr.write("The passwords were empty or did not match.")
        raise CommandError("No password given.")
