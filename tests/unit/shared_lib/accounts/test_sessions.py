"""Sessions and refresh-token families, on in-memory repositories."""

from __future__ import annotations

import pytest

from shared_lib.accounts import sessions as accounts
from shared_lib.config import Settings
from shared_lib.errors import EmailTaken, InvalidCredentials, InvalidToken, UsernameTaken
from shared_lib.security import TokenSigner, generate_signing_key
from tests.unit.fakes import FakeUnitOfWork

SETTINGS = Settings(environment="test", bcrypt_rounds=4)


@pytest.fixture
def signer(tmp_path):
    generate_signing_key(tmp_path / "k.pem", tmp_path / "k.json")
    return TokenSigner((tmp_path / "k.pem").read_bytes(), SETTINGS)


@pytest.fixture
def uow():
    return FakeUnitOfWork()


def new_user(uow, name="ada"):
    return accounts.register(uow, username=name, email=f"{name}@example.com",
                             password="correct horse", display_name=None, rounds=4)


def test_names_and_emails_are_unique(uow):
    new_user(uow)
    with pytest.raises(UsernameTaken):
        accounts.register(uow, username="ada", email="x@example.com", password="p" * 8,
                          display_name=None, rounds=4)
    with pytest.raises(EmailTaken):
        accounts.register(uow, username="bob", email="ada@example.com", password="p" * 8,
                          display_name=None, rounds=4)


def test_password_check_accepts_username_or_email_and_refuses_wrong_ones(uow):
    user = new_user(uow)
    assert accounts.check_password(uow, login="ada", password="correct horse", rounds=4) is user
    assert accounts.check_password(uow, login="ada@example.com", password="correct horse",
                                   rounds=4) is user
    with pytest.raises(InvalidCredentials):
        accounts.check_password(uow, login="ada", password="wrong horse", rounds=4)
    with pytest.raises(InvalidCredentials):
        accounts.check_password(uow, login="nobody", password="correct horse", rounds=4)


def test_refresh_rotates_and_reuse_revokes_the_family(uow, signer):
    first = accounts.start_session(uow, new_user(uow), signer=signer, settings=SETTINGS)
    second = accounts.refresh(uow, refresh_token=first.refresh_token, signer=signer,
                              settings=SETTINGS)
    assert second.refresh_token != first.refresh_token
    with pytest.raises(InvalidToken, match="already used") as refused:
        accounts.refresh(uow, refresh_token=first.refresh_token, signer=signer, settings=SETTINGS)
    assert refused.value.commits, "the family revocation is committed before the 401"
    assert uow.pending, "and Redis learns of it once that commit is done"
    with pytest.raises(InvalidToken):
        accounts.refresh(uow, refresh_token=second.refresh_token, signer=signer, settings=SETTINGS)


def test_an_unknown_refresh_token_is_refused(uow, signer):
    with pytest.raises(InvalidToken):
        accounts.refresh(uow, refresh_token="made-up", signer=signer, settings=SETTINGS)
