"""The language picker of every page, and remembering the choice (web/i18n.py says how a page's language is
chosen): a cookie of this node for the browser and, for a signed-in user, their row of `users`."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from store.languages import chosen_language, remember_language
from store.users import User
from web import i18n
from web.auth import check_csrf, optional_session, set_cookie
from web.errors import ApiError
from web.i18n import N_, Message

router = APIRouter(include_in_schema=False)


def _remember_in_browser(request: Request, response: Response, lang: str) -> None:
    settings = request.app.state.node.settings
    set_cookie(response, request, settings, i18n.cookie_name(settings.state), lang, i18n.COOKIE_MAX_AGE)


def _back_to(target: str) -> str:
    """Back to the page the picker was on: only a path on this site, never another site (open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or urlsplit(target).netloc:
        return "/"
    return target


@router.post("/language")
async def choose(request: Request) -> Response:
    form = await request.form()
    lang = str(form.get("lang") or "")
    if lang not in i18n.available_languages():
        raise ApiError(422, Message(N_("There are no pages in the language %(lang)s."), lang=lang or "—"))
    session = await optional_session(request)
    if session is not None:
        # Signed in: the choice changes the user's profile, so it needs the session's CSRF token. Without a
        # session the picker only sets this browser's cookie, which another site gains nothing by changing.
        check_csrf(session, form)
        await remember_language(request.app.state.node.pool, session.user.id, lang)
    response = RedirectResponse(_back_to(str(form.get("next") or "/")), status_code=303)
    _remember_in_browser(request, response, lang)
    return response


async def after_sign_in(request: Request, response: Response, user: User) -> None:
    """The language in the user's profile becomes this browser's; a user who never chose keeps what the
    browser shows now, and that becomes their choice if they picked it here before signing in."""
    pool = request.app.state.node.pool
    chosen = await chosen_language(pool, user.id)
    if chosen in i18n.available_languages():
        _remember_in_browser(request, response, str(chosen))
        return
    settings = request.app.state.node.settings
    picked = request.cookies.get(i18n.cookie_name(settings.state))
    if picked in i18n.available_languages():
        await remember_language(pool, user.id, str(picked))
