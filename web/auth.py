"""Who is calling: API tokens (`Authorization: Bearer`), and for the pages a session cookie."""

from __future__ import annotations

from fastapi import Request

from store.users import User, user_for_token
from web.errors import ApiError


async def current_user(request: Request) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "sign in: send Authorization: Bearer <token>")
    user = await user_for_token(request.app.state.node.pool, token.strip())
    if user is None:
        raise ApiError(401, "this token is not valid")
    return user
