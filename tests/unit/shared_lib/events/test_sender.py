"""Sender identity: tokens of the local issuer, verified as event functions and the broker's
ingress verify them."""

from __future__ import annotations

import pytest

from local.issuer import ALLOWED_SENDERS, BROKER, FUNCTIONS, ISSUER, Issuer
from shared_lib.config import Settings
from shared_lib.errors import NotAuthenticated
from shared_lib.events.sender import function_audience, verify_request


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    return Issuer(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def settings(issuer):
    return Settings(oidc_issuer=ISSUER, oidc_jwks_file=str(issuer.jwks_file))


def verify(token, settings, audience=None):
    audience = audience or function_audience("on-stream-started")
    return verify_request(f"Bearer {token}", audience=audience, settings=settings)


def test_a_token_for_the_function_is_accepted_with_its_sender(issuer, settings):
    token = issuer.mint(subject="system:serviceaccount:streamfn:oidc-trigger",
                        audience=function_audience("on-stream-started"))
    assert verify(token, settings).subject == "system:serviceaccount:streamfn:oidc-trigger"


def test_a_token_for_another_audience_an_expired_one_or_another_issuers_is_refused(
        issuer, settings, tmp_path):
    elsewhere = issuer.mint(subject=FUNCTIONS, audience=function_audience("notify-followers"))
    expired = issuer.mint(subject=FUNCTIONS, audience=function_audience("on-stream-started"),
                          seconds=-60)
    stranger = Issuer(tmp_path).mint(subject=FUNCTIONS,
                                     audience=function_audience("on-stream-started"))
    for token in (elsewhere, expired, stranger, "not.a.token", ""):
        with pytest.raises(NotAuthenticated):
            verify(token, settings)
    with pytest.raises(NotAuthenticated):
        verify_request("", audience=BROKER, settings=settings)


def test_without_a_configured_issuer_nothing_is_accepted(issuer):
    token = issuer.mint(subject=FUNCTIONS, audience=BROKER)
    with pytest.raises(NotAuthenticated):
        verify(token, Settings(), audience=BROKER)


def test_the_broker_takes_events_only_from_the_service_accounts_its_policy_names(issuer, settings):
    from local.ingress import authorize_sender

    for subject in ALLOWED_SENDERS:
        authorize_sender(f"Bearer {issuer.mint(subject=subject, audience=BROKER)}", settings)
    other = issuer.mint(subject="system:serviceaccount:other:pod", audience=BROKER)
    with pytest.raises(NotAuthenticated):
        authorize_sender(f"Bearer {other}", settings)
