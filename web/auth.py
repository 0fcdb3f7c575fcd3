"""Who is calling: API tokens (`Authorization: Bearer`) for the JSON API; for the pages a session cookie
after a sign-in form (or OIDC, optional), with a CSRF token on every form that changes anything."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from probatio.settings import Settings
from store import sessions
from store.sessions import Session
from store.users import User, user_by_name, user_for_token
from web.errors import ApiError

CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """A page asked for by someone not signed in: they are sent to the sign-in form, then back."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfFailed(Exception):
    """A form came back without this session's token: it was not sent by our page (or the page is stale)."""


# The HTTP Bearer scheme; declared through FastAPI so the OpenAPI document names it on every operation.
# auto_error=False: a missing or malformed header is answered by our own 401 problem.
BEARER = HTTPBearer(auto_error=False, scheme_name="HTTPBearer",
                    description="an API token from `probatio users create`")


async def current_user(request: Request,
                       credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None) -> User:
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise ApiError(401, "sign in: send Authorization: Bearer <token>")
    user = await user_for_token(request.app.state.node.pool, token)
    if user is None:
        raise ApiError(401, "this token is not valid")
    return user


# --- session cookies -------------------------------------------------------------------------

def session_cookie(settings: Settings) -> str:
    # Named per state: `make run` serves LU and BE on the same host, and cookies ignore the port.
    return f"probatio_session_{settings.state.lower()}"


def login_csrf_cookie(settings: Settings) -> str:
    return f"probatio_login_{settings.state.lower()}"


def served_over_https(request: Request, settings: Settings) -> bool:
    """Secure cookies whenever the user reaches us over https, also behind a TLS-terminating proxy."""
    return (request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
            or settings.effective_public_url.startswith("https://"))


def set_cookie(response: Response, request: Request, settings: Settings, name: str, value: str,
               max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", path="/",
                        secure=served_over_https(request, settings))


async def sign_in(request: Request, response: Response, user: User, *, via: str = "password") -> None:
    settings: Settings = request.app.state.node.settings
    lifetime = timedelta(hours=settings.session_hours)
    secret = await sessions.open_session(request.app.state.node.pool, user, lifetime=lifetime, via=via)
    set_cookie(response, request, settings, session_cookie(settings), secret, int(lifetime.total_seconds()))
    response.delete_cookie(login_csrf_cookie(settings), path="/")


async def sign_out(request: Request, response: Response) -> None:
    settings: Settings = request.app.state.node.settings
    secret = request.cookies.get(session_cookie(settings))
    if secret:
        await sessions.close_session(request.app.state.node.pool, secret)
    response.delete_cookie(session_cookie(settings), path="/")


async def shows_valid_credentials(connection: HTTPConnection, pool: Any, settings: Settings) -> bool:
    """Whether a request (its scope, before its body is read) shows a token or a session that exists now: the
    guard asks it before it reads a large body. Cookies are read as a Request reads them (Starlette's parser)."""
    authorization = connection.headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return await user_for_token(pool, authorization[7:].strip()) is not None
    secret = connection.cookies.get(session_cookie(settings))
    return secret is not None and await sessions.session_for(pool, secret) is not None


async def optional_session(request: Request) -> Session | None:
    settings: Settings = request.app.state.node.settings
    secret = request.cookies.get(session_cookie(settings))
    if not secret:
        return None
    return await sessions.session_for(request.app.state.node.pool, secret)


async def page_session(request: Request) -> Session:
    """The signed-in user of a page; anyone else is sent to sign in and brought back afterwards."""
    session = await optional_session(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else "/")
    return session


def check_csrf(session: Session, form: Any) -> None:
    sent = str(form.get(CSRF_FIELD) or "")
    if not sent or not hmac.compare_digest(sent, session.csrf_token):
        raise CsrfFailed()


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def check_login_csrf(request: Request, form: Any) -> None:
    """Sign-in has no session yet: the token is a double-submit cookie, so another site cannot sign a
    victim in to an account of its choosing (login CSRF)."""
    settings: Settings = request.app.state.node.settings
    cookie = request.cookies.get(login_csrf_cookie(settings)) or ""
    sent = str(form.get(CSRF_FIELD) or "")
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise CsrfFailed()


async def user_for_oidc(request: Request, username: str) -> User | None:
    """The local user the IdP named: roles and authorities are this node's business, not the IdP's."""
    async with request.app.state.node.pool.connection() as conn:
        found = await user_by_name(conn, username)
    return found[0] if found else None


# --- OIDC (optional) -------------------------------------------------------------------------

def oidc_client(settings: Settings) -> Any | None:
    """The Authlib client for the configured IdP, or None when OIDC is off (the default)."""
    if not settings.oidc_enabled:
        return None
    from authlib.integrations.starlette_client import OAuth  # type: ignore[import-untyped]

    assert settings.oidc_issuer is not None
    oauth = OAuth()
    return oauth.register(
        name="probatio",
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256"},
    )
