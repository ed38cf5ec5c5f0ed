import time

from django.core.management.base import BaseCommand

from runners.services import lease_reap


class Command(BaseCommand):
    help = (
        "Re-queues (or fails, past the lost-lease limit) tasks whose lease expired. The django-q2 schedule "
        "'reap expired leases' runs this every minute; use the command where no qcluster runs, or to reap now."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds until interrupted")
        parser.add_argument("--limit", type=int, default=1000, help="at most this many leases per pass")

    def handle(self, *args, every: float, limit: int, **options):
        while True:
            # A full batch means more may be waiting: go on at once rather than after the interval.
            while (reaped := lease_reap(limit=limit)) >= limit:
                self.stdout.write(f"reaped {reaped} expired lease(s), more to go")
            self.stdout.write(f"reaped {reaped} expired lease(s)")
            if every <= 0:
                return
            time.sleep(every)
