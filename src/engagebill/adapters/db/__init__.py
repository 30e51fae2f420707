"""The SQL adapter: tables, types, engine set-up, repositories, unit of work, migrations."""
