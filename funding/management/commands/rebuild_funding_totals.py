"""``manage.py rebuild_funding_totals``: store the totals of every published funding record, and
of the large sets one funding filter selects, now (funding.rollup). Saves rebuild them after
they commit; run this after a restore or a bulk load that bypassed the application, after a
deploy, or from cron as a safety net. Without ``--force``, while they are current it only stores
again the API's answers whose names or code changed."""

from django.core.management.base import BaseCommand

from funding import rollup


class Command(BaseCommand):
    help = "Rebuild the stored funding totals (every published record, large filtered sets) if stale."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Rebuild even if they are current.")

    def handle(self, *args, force: bool, **options):
        if not rollup.enabled():
            self.stdout.write("Totals are computed on each request on this database (not PostgreSQL).")
        elif rollup.rebuild(force=force):
            self.stdout.write("Rebuilt the stored funding totals.")
        elif rollup.store_answers():  # names changed, or the code that writes the API's answers
            self.stdout.write("The stored funding totals are current; stored the API's answers again.")
        else:
            self.stdout.write("The stored funding totals are current.")
