"""Team mode's sign-in gate, the sign-in and new-password forms, and the sidebar's account block.

app.py calls ``gate`` before it builds the navigation: until a person signs in, the app's only page
is the sign-in form (no page list, no numbers, no names). The session token lives in the session
state and in a cookie (``ops_session``, set by a line of JavaScript after signing in) so a reload
of the page, which starts a new Streamlit session, finds it again in ``st.context.cookies``. Every
run reads the session and the person's role from the store (ops_core.users.current): a role change,
a disabled account or an ended session applies at the next click, in every app instance.

Where the company's OpenID Connect provider is set up for Streamlit's ``st.login`` (``[auth]`` in
``.streamlit/secrets.toml``), the form offers it first: a person the provider vouches for is signed
in as the account whose user name is their e-mail (else ``preferred_username``), with that
account's role; an unknown or disabled account is refused as with a password.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import NoReturn

import streamlit as st
from sqlalchemy import Engine

from cockpit import frame, ui
from ops_core import users
from ops_core.errors import OpsError, Refused
from ops_core.i18n import LANGUAGES, label
from ops_core.vocab import Role

TOKEN_KEY = "ops_session_token"
CLEAR_COOKIE_KEY = "ops_clear_cookie"
COOKIE = "ops_session"


def gate(addresses: list[str]) -> users.Signed:
    """The signed-in person; otherwise draws only the sign-in form (or the new-password form after a
    reset, or the store's fault page) as the app's one page, at the root and at every one of the app's
    ``addresses`` (so a deep link shows the form, not "page not found", and opens its page once signed
    in), and stops the run."""
    try:
        store = ui.engine()
        token = st.session_state.get(TOKEN_KEY) or _cookie_token()
        signed = users.current(store, token)
    except ui.STORE_ERRORS as exc:
        fault = exc
        only(lambda: ui.store_down_page(fault), addresses)
    refusal = None
    if signed is None and (vouched := provider_user()) is not None:
        try:  # signed in at the company's OpenID Connect provider: the account of that user name
            token = users.open_session(store, vouched)
            signed = users.current(store, token)
        except Refused as exc:
            refusal = exc
    if signed is None:
        # A session this tab was using has ended (idle time, disabled, reset): say so above the form.
        ended = st.session_state.pop(TOKEN_KEY, None) is not None
        st.session_state.pop(frame.SIGNED_KEY, None)
        only(lambda: _sign_in_form(store, ended, refusal), addresses)
    st.session_state[TOKEN_KEY] = token
    st.session_state[frame.SIGNED_KEY] = signed
    if signed.must_change_password and provider_user() is None:  # the provider's sign-in asks no password
        only(lambda: _new_password_form(store, token), addresses)
    return signed


def _cookie_token() -> str | None:
    """The token the browser's cookie held when this session connected (a reload brings it)."""
    found = st.context.cookies.get(COOKIE)
    return found if isinstance(found, str) and found else None  # AppTest has no browser: no real cookies


def only(draw: Callable[[], None], addresses: list[str]) -> NoReturn:
    """Run ``draw`` as the only page of the app, at the root and at every one of ``addresses``, and end the run."""
    title = frame.tr("app.title")
    pages = [st.Page(draw, title=title, url_path="signin", default=True),
             *(st.Page(draw, title=title, url_path=address, visibility="hidden") for address in addresses)]
    st.navigation(pages, position="hidden").run()
    st.stop()


def _language_picker() -> str:
    """The language switch of the sign-in form; the choice goes into the address (``lang=``), where the
    shared sidebar picks it up after signing in."""
    current = frame.language()
    lang = st.selectbox(frame.tr("app.language"), list(LANGUAGES), index=list(LANGUAGES).index(current),
                        format_func=LANGUAGES.get, key="ops_signin_lang")
    if lang != current:
        st.query_params["lang"] = lang
        st.session_state[frame.LANG_KEY] = lang
        st.rerun()
    return lang


def _cookie(script: str) -> None:
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def provider_configured() -> bool:
    """Whether the company's OpenID Connect provider is set up for Streamlit's st.login (``[auth]`` in
    ``.streamlit/secrets.toml``)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file
        return False


def provider_user() -> str | None:
    """The user name the provider vouches for (the e-mail, else ``preferred_username``), or None."""
    if not provider_configured() or not st.user.is_logged_in:
        return None
    name = st.user.get("email") or st.user.get("preferred_username")
    return str(name) if name else None


def _provider_buttons(refusal: Refused | None) -> None:
    if refusal is not None:
        st.error(refusal.message(frame.language()))
    if st.user.is_logged_in:  # vouched for, but refused here: let them leave the provider's session
        if st.button(frame.tr("signin.provider_out"), key="ops_provider_out"):
            st.logout()
    elif st.button(frame.tr("signin.provider"), key="ops_provider_in", type="primary"):
        st.login()
    st.caption(frame.tr("signin.or_password"))


def _sign_in_form(store: Engine, ended: bool = False, refusal: Refused | None = None) -> None:
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        if st.session_state.pop(CLEAR_COOKIE_KEY, False):
            _cookie(f"document.cookie = {json.dumps(COOKIE + '=; path=/; max-age=0; SameSite=Lax')};")
            st.success(frame.tr("signin.signed_out"))
        elif ended:
            st.info(frame.tr("signin.expired"))
        _language_picker()
        st.title(frame.tr("signin.title"))
        st.caption(frame.tr("signin.intro"))
        if provider_configured():
            _provider_buttons(refusal)
        with st.form("ops_signin_form"):
            username = st.text_input(frame.tr("signin.username"), key="ops_signin_user", autocomplete="username")
            password = st.text_input(frame.tr("signin.password"), type="password", key="ops_signin_password",
                                     autocomplete="current-password")
            pressed = st.form_submit_button(frame.tr("signin.submit"), type="primary")
        if pressed:
            if not username.strip() or not password:
                st.error(frame.tr("signin.missing"))
                return
            try:
                token = users.sign_in(store, username, password)
            except Refused as exc:
                st.error(exc.message(frame.language()))
                return
            st.session_state[TOKEN_KEY] = token
            st.rerun()


def _new_password_form(store: Engine, token: str) -> None:
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title(frame.tr("signin.change.title"))
        st.caption(frame.tr("signin.change.intro", length=users.MIN_PASSWORD))
        with st.form("ops_new_password_form"):
            old = st.text_input(frame.tr("signin.change.current"), type="password", key="ops_pw_current",
                                autocomplete="current-password")
            new = st.text_input(frame.tr("signin.change.new"), type="password", key="ops_pw_new", autocomplete="new-password")
            again = st.text_input(frame.tr("signin.change.again"), type="password", key="ops_pw_again",
                                  autocomplete="new-password")
            pressed = st.form_submit_button(frame.tr("signin.change.submit"), type="primary")
        if pressed:
            if new != again:
                st.error(frame.tr("signin.change.differ"))
                return
            try:
                users.change_own_password(store, token, old, new)
            except OpsError as exc:
                ui.show_error(exc)
                return
            st.session_state[ui.FLASH_KEY] = frame.tr("signin.change.done")
            st.rerun()
        if st.button(frame.tr("signin.sign_out"), key="ops_sign_out_pw"):
            sign_out(store)


def sign_out(store: Engine) -> None:
    """End this browser's session in the store, forget it here and clear the cookie."""
    users.sign_out(store, st.session_state.pop(TOKEN_KEY, None))
    st.session_state.pop(frame.SIGNED_KEY, None)
    st.session_state[CLEAR_COOKIE_KEY] = True
    if provider_configured() and st.user.is_logged_in:
        st.logout()  # else the provider's session would sign this browser in again at once
    st.rerun()


def sidebar(store: Engine) -> None:
    """The mode, who is signed in and the sign-out button, at the bottom of the shared sidebar; in team
    mode also keeps the session's cookie, so a reload stays signed in."""
    with st.sidebar:
        st.divider()
        if not frame.sign_in_required():
            st.caption(frame.tr("signin.mode.single"))
            return
        signed: users.Signed = st.session_state[frame.SIGNED_KEY]
        token = st.session_state[TOKEN_KEY]
        if _cookie_token() != token:
            # Set before "signed in as" is shown, so a visit by address right after finds it. The token is ours
            # (letters, digits, - and _ only); a cookie of the browser's session, sent to this site only.
            _cookie(f"document.cookie = {json.dumps(f'{COOKIE}={token}; path=/; SameSite=Lax')}"
                    " + (location.protocol === 'https:' ? '; Secure' : '');")
        st.caption(frame.tr("signin.mode.team"))
        st.markdown(frame.tr("signin.who", name=signed.display_name, username=signed.actor.username,
                             role=label(Role, signed.actor.role, frame.language())))
        if st.button(frame.tr("signin.sign_out"), key="ops_sign_out"):
            sign_out(store)


def remote_page() -> None:
    """Single-user mode refuses a visitor from another computer (when the server was made to listen
    beyond 127.0.0.1): nobody but the person at the server may act as the built-in admin."""
    st.title(frame.tr("app.title"))
    st.error(frame.tr("signin.remote"))
