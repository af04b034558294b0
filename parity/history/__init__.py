"""The run history: the SQLite store, comparing two runs, and regression rules."""
