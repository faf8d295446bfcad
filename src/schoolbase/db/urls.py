"""Where the owner and the server connect."""

from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url

from schoolbase.config import Settings

APP_LOGIN_ROLE = "authenticator"
SERVICE_LOGIN_ROLE = "service_authenticator"


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str  # migrations, CLI admin work, test setup
    app: str  # requests: log in as ``authenticator``, become anon or authenticated
    service: str  # sign-in, the AI gateway, jobs: log in as ``service_authenticator``, become service_role


def sqlalchemy_url(url: str, *, async_driver: bool = False) -> URL:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg_async" if async_driver else "postgresql+psycopg")


def _login_url(owner_url: str, role: str, password) -> str:
    url = make_url(owner_url).set(username=role, password=password.get_secret_value() if password else None)
    return url.render_as_string(hide_password=False)


def app_url_for(owner_url: str, settings: Settings) -> str:
    return settings.app_database_url or _login_url(owner_url, APP_LOGIN_ROLE, settings.authenticator_password)


def service_url_for(owner_url: str, settings: Settings) -> str:
    return settings.service_database_url or _login_url(
        owner_url, SERVICE_LOGIN_ROLE, settings.service_authenticator_password
    )


def database_urls(owner_url: str, settings: Settings) -> DatabaseUrls:
    return DatabaseUrls(
        owner=owner_url, app=app_url_for(owner_url, settings), service=service_url_for(owner_url, settings)
    )
