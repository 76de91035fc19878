"""`manage.py hooks`: every link by which a lower app makes a higher one act."""

from django.core.management.base import BaseCommand

from smarketing.core.hooks import describe


class Command(BaseCommand):
    help = "List every hook (smarketing.core.hooks): what it is for and which handlers answer it."

    def handle(self, *args, **options) -> None:
        for hook in describe():
            kind = "one handler" if hook["single"] else "every handler"
            self.stdout.write(self.style.MIGRATE_HEADING(f"{hook['name']} ({kind})"))
            self.stdout.write(f"  {hook['doc']}")
            for handler in hook["handlers"] or ["(nothing connected)"]:
                self.stdout.write(f"  -> {handler}")
