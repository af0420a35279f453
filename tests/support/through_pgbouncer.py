"""Run in a process of its own by tests/migrationsupport/test_pgbouncer.py, with DATABASE_URL
pointing at PgBouncer in transaction mode and DB_PGBOUNCER=1: what a web node does there.

It asks for public pages, the streamed CSVs and the API, then saves a funding record as an
officer's save does (the stored totals are rebuilt after the commit, under an advisory lock
and ``SET LOCAL``), and prints one JSON object: each address's status and size, the CSVs' row
counts, and whether the totals were current after the save.
"""

from __future__ import annotations

import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")
    django.setup()
    from django.db import connection, transaction
    from django.test import Client

    from funding import rollup
    from funding.models import FundingRecord

    client = Client(HTTP_HOST="127.0.0.1")
    answers = {}
    for address in sys.argv[1:]:
        response = client.get(address)
        body = response.getvalue()  # a streamed answer too
        answers[address] = {"status": response.status_code, "lines": body.count(b"\n"), "bytes": len(body)}
    record = FundingRecord.objects.published().order_by("pk").first()
    assert record is not None
    with transaction.atomic():
        record.title += " (edited)"
        record.save()
    print(
        json.dumps(
            {
                "answers": answers,
                "server_side_cursors": not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"),
                "totals_current_after_save": rollup.stored_rows(None) is not None,
            }
        )
    )


if __name__ == "__main__":
    main()
