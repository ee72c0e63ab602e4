"""MySQL backups: the store, taking backups, schedules, binlog archiving, restore."""
