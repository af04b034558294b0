"""The results record: its typed form, schema version, migrations, saving and loading."""
