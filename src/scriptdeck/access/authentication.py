"""DRF authentication with personal API tokens: ``Authorization: Token <key>`` or ``Bearer``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from . import tokens


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Give the token after the keyword."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        token = tokens.authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is not valid, revoked or expired."))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "Token"
