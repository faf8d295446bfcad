"""What every page knows: who is looking, in which of their organizations, the form token, a
one-time notice from the previous step, and the cookies to send back."""

import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from schoolbase.config import Settings
from schoolbase.db.rls import DbIdentity
from schoolbase.models import MembershipRole
from schoolbase.tenancy.schemas import Me, MyOrganization
from schoolbase.web import cookies, csrf

NOTICE_COOKIE = "sb_notice"


@dataclass
class PageContext:
    request: Request
    settings: Settings
    identity: DbIdentity
    me: Me | None = None
    organization: MyOrganization | None = None
    csrf_token: str = ""
    _csrf_cookie: str | None = None
    _cookies: dict[str, str | None] = field(default_factory=dict)

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.identity.user_id

    @property
    def time_zone(self) -> str:
        return self.organization.time_zone if self.organization else "UTC"

    @property
    def roles(self) -> set[MembershipRole]:
        return set(self.organization.roles) if self.organization else set()

    def has(self, role: str) -> bool:
        return MembershipRole(role) in self.roles

    @property
    def nav(self) -> list[tuple[str, str]]:
        """The main navigation for the roles held in the organization looked at."""
        links = []
        if self.me and self.me.user.is_super_admin:
            links.append(("/platform", "Organizations"))
        if self.has("org_admin"):
            links.append(("/admin", "School"))
        if self.has("teacher"):
            links.append(("/teach", "My classes"))
        if self.has("student"):
            links += [("/todo", "To do"), ("/grades", "Grades")]
        if self.has("parent"):
            links.append(("/children", "My children"))
        if self.has("teacher") or self.has("student") or self.has("org_admin"):
            links.append(("/library", "Resources"))
        if self.roles:  # any member may host (T, OA) or be invited to a meeting session
            links.append(("/meetings", "Meetings"))
        if self.organization:  # org admins the organization's, teachers their students', others their own
            links.append(("/ai-dashboard", "AI usage"))
        return links

    @property
    def home(self) -> str:
        """Where this person lands: the first page their roles need."""
        return self.nav[0][0] if self.nav else "/account/sessions"

    @property
    def notice(self) -> str | None:
        text = self.request.cookies.get(NOTICE_COOKIE)
        if text is None:
            return None
        self._cookies.setdefault(NOTICE_COOKIE, None)  # shown once
        return unquote(text)

    def set_cookie(self, name: str, value: str | None) -> None:
        """Send ``name`` with the response (None: remove it)."""
        self._cookies[name] = value

    def finish(self, response: Response) -> Response:
        if self._csrf_cookie:
            csrf.set_token_cookie(self.request, response, self.settings, self._csrf_cookie)
        for name, value in self._cookies.items():
            if name == NOTICE_COOKIE and value is not None:
                response.set_cookie(name, value, max_age=120, httponly=True, samesite="lax", path="/")
            elif value is None:
                cookies.clear_cookie(self.request, response, self.settings, name)
            else:
                cookies.set_cookie(self.request, response, self.settings, name, value)
        return response

    def redirect(self, url: str, notice: str | None = None) -> Response:
        """After a form: see the result at ``url`` (303), with a one-time ``notice``."""
        if notice:
            self._cookies[NOTICE_COOKIE] = quote(notice)
        return self.finish(RedirectResponse(url, status_code=303))
