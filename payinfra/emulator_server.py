"""The emulator process: moto's server, with the one place where payinfra corrects moto (5.2) to
answer as AWS does. `payinfra emulator start` and the test suite both run it.

Promotion: AWS stops reporting a promoted read replica's source
(ReadReplicaSourceDBInstanceIdentifier) and drops it from the source's replica list; moto keeps
both, so the AWS provider would see the promoted database as a replica again and re-promote it
on every apply (about a minute of waiting each time), and `payinfra status` would call it a
replica.
"""

from __future__ import annotations

import sys
from typing import Any

from moto.rds.models import RDSBackend
from moto.server import main


def promoted_replicas_forget_their_source() -> None:
    promote = RDSBackend.promote_read_replica

    def promote_and_detach(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        database = promote(self, db_kwargs)
        source_id = database.source_db_instance_identifier
        if source_id:
            database.source_db_instance_identifier = None
            try:
                source = self.find_db_from_id(source_id)
            except Exception:  # the source may be gone already; nothing to detach from
                return database
            for name in (database.db_instance_arn, database.db_instance_identifier):
                if name in source.replicas:
                    source.replicas.remove(name)
        return database

    RDSBackend.promote_read_replica = promote_and_detach  # type: ignore[method-assign]


if __name__ == "__main__":
    promoted_replicas_forget_their_source()
    main(sys.argv[1:])
