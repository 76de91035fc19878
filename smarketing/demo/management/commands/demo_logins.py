"""Print who can log in to the demo, as what, and where (used by `scripts/dev.py run`)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from smarketing.demo.management.commands.seed_demo import DEMO_PASSWORD
from smarketing.org.roles import role_names


class Command(BaseCommand):
    help = "Print the demo organisation's logins: username, role, team and password."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, url, **options):

        users = (
            get_user_model()
            .objects.filter(is_active=True)
            .select_related("membership__team")
            .prefetch_related("groups")
            .order_by("username")
        )
        rows = []
        for user in users:
            roles = ", ".join(sorted(role_names(user))) or "Employee (refers leads)"
            membership = getattr(user, "membership", None)
            rows.append((user.username, roles, membership.team.name if membership else "—"))
        if not rows:
            self.stdout.write("No users yet: run `manage.py seed_demo` first.")
            return
        width = [max(len(r[i]) for r in rows + [("username", "role", "team")]) for i in range(3)]
        line = "  ".join(f"{{:<{w}}}" for w in width)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Smarketing is running at {url}"))
        self.stdout.write(f"Log in with any of these users; the password is: {DEMO_PASSWORD}")
        self.stdout.write("")
        self.stdout.write(line.format("username", "role", "team"))
        for row in rows:
            self.stdout.write(line.format(*row))
        self.stdout.write("")
        self.stdout.write("API docs: " + url + "api/docs/   Admin: " + url + "admin/   Stop: Ctrl+C")
