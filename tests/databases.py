"""The databases the tests run on: SQLite by default, PostgreSQL (127.0.0.1:5432, trust auth)
with ``IDP_TEST_DATABASE=postgresql``.

Every test process (each pytest-xdist worker) migrates one template database. On SQLite a test
gets a file copy of it. On PostgreSQL a ``CREATE DATABASE … TEMPLATE`` and a ``DROP DATABASE`` cost
about 0.3 s a test (the drop waits for a checkpoint), so a test takes a database from
``PostgresPool`` instead: copies of the template that get the template's rows back after every
test."""

import os

import sqlalchemy as sa

POSTGRES = os.environ.get("IDP_TEST_DATABASE") == "postgresql"
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"

#: Everything in the public schema, so a test that changed the schema is noticed.
SCHEMA_FINGERPRINT = """
    SELECT md5(string_agg(format('%s %s %s %s %s', c.relname, c.relkind, a.attname,
                                 format_type(a.atttypid, a.atttypmod), a.attnotnull),
                          ',' ORDER BY c.relname, a.attnum))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped"""

#: Whatever the test left connected (a server thread, a pushed app context) would hold locks.
DISCONNECT_OTHERS = """
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()"""


def postgres(statement):
    """Run one statement outside a transaction (``CREATE``/``DROP DATABASE``)."""
    engine = sa.create_engine(POSTGRES_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


def unsynced_sqlite(dbapi_connection, _record):
    """A test's SQLite copy is thrown away after the test: no fsync at every commit."""
    dbapi_connection.execute("PRAGMA synchronous = OFF")


class PostgresPool:
    """Copies of the migrated template, reused test after test.

    A test takes one database per app it builds (two apps of one test never share one) and
    gives them back at teardown. Giving back disconnects whatever the test left connected,
    then, in one transaction, deletes every row, puts back the rows the migrations wrote
    (``alembic_version``) and sets every sequence back to where the template has it: about
    2 ms. A database whose schema the test changed is dropped and replaced by a new copy."""

    def __init__(self, template):
        self.template = template
        self.free = []
        self.engines = {}
        self.created = 0
        engine = sa.create_engine(POSTGRES_SERVER + template, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            self.fingerprint = connection.exec_driver_sql(SCHEMA_FINGERPRINT).scalar()
            self.reset_script = self._reset_script(connection)
            metadata = sa.MetaData()
            metadata.reflect(connection)
            rows = {table: connection.execute(table.select()).mappings().all() for table in metadata.sorted_tables}
            self.seed = [(table, [dict(row) for row in found]) for table, found in rows.items() if found]
        engine.dispose()

    @staticmethod
    def _reset_script(connection):
        tables = connection.exec_driver_sql(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").scalars()
        sequences = connection.exec_driver_sql(
            "SELECT quote_literal(quote_ident(sequencename)), COALESCE(last_value, start_value),"
            " last_value IS NOT NULL FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1").all()
        return "; ".join([
            "SET LOCAL session_replication_role = replica",  # no foreign-key checks: any order
            *(f"DELETE FROM {table}" for table in tables),
            *(f"SELECT setval({name}, {value}, {str(called).lower()})" for name, value, called in sequences)])

    def take(self):
        """A database with exactly the template's rows; its name."""
        if self.free:
            return self.free.pop()
        self.created += 1
        name = f"{self.template.replace('template', 'test')}_{self.created}"
        postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        postgres(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.engines[name] = sa.create_engine(POSTGRES_SERVER + name, pool_size=1, pool_pre_ping=True)
        return name

    def give_back(self, name):
        with self.engines[name].connect() as connection:
            connection.exec_driver_sql(DISCONNECT_OTHERS)
            connection.commit()
            reusable = connection.exec_driver_sql(SCHEMA_FINGERPRINT).scalar() == self.fingerprint
            if reusable:
                connection.exec_driver_sql(self.reset_script)
                for table, rows in self.seed:
                    connection.execute(table.insert(), rows)
                connection.commit()
        if reusable:
            self.free.append(name)
        else:
            self.drop(name)

    def drop(self, name):
        self.engines.pop(name).dispose()
        postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.free:
            self.free.remove(name)

    def close(self):
        for name in list(self.engines):
            self.drop(name)
