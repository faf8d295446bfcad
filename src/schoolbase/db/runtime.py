"""Finding the database: the configured server, or the embedded one, migrated to head."""

from schoolbase.config import Settings
from schoolbase.db.embedded import start_embedded
from schoolbase.db.migrate import upgrade
from schoolbase.db.urls import DatabaseUrls, database_urls


def owner_url(settings: Settings) -> str:
    return settings.database_url or start_embedded(settings.data_dir / "pgdata")


def prepare_database(settings: Settings, *, migrate: bool = True) -> DatabaseUrls:
    owner = owner_url(settings)
    if migrate:
        upgrade(owner)
    return database_urls(owner, settings)
