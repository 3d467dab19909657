"""The local embedded runtime: folders + SQLite + in-process workers, no cloud."""
