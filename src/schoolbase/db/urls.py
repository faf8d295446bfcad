"""Where the owner and the server connect."""

from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url

from schoolbase.config import Settings

APP_LOGIN_ROLE = "authenticator"


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str  # migrations, CLI admin work, test setup
    app: str  # the server: logs in as ``authenticator``


def sqlalchemy_url(url: str, *, async_driver: bool = False) -> URL:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg_async" if async_driver else "postgresql+psycopg")


def app_url_for(owner_url: str, settings: Settings) -> str:
    if settings.app_database_url:
        return settings.app_database_url
    password = settings.authenticator_password.get_secret_value() if settings.authenticator_password else None
    url = make_url(owner_url).set(username=APP_LOGIN_ROLE, password=password)
    return url.render_as_string(hide_password=False)
