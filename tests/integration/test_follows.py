"""The follow graph (functions/follows.py) on the real PostgreSQL: idempotent edges, exact
counts under concurrency, keyset pages of followers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import factories


def new_user(call, prefix="f", display_name=None):
    return factories.new_user(call, prefix, **({"display_name": display_name} if display_name else {}))


def profile(call, name):
    return call("get-profile", path=f"/api/users/{name}")


def test_follow_and_unfollow_are_idempotent_and_counted(call):
    channel, _ = new_user(call, "ch")
    fan, token = new_user(call)
    path = f"/api/users/{channel}/follow"
    first = call("follow", path=path, token=token)
    assert first.status_code == 200 and first.get_json()["following"] is True
    assert first.get_json()["user"]["followers_count"] == 1
    assert call("follow", path=path, token=token).get_json()["user"]["followers_count"] == 1
    assert profile(call, fan).get_json()["following_count"] == 1
    gone = call("unfollow", path=path, token=token)
    assert gone.status_code == 200 and gone.get_json()["user"]["followers_count"] == 0
    assert call("unfollow", path=path, token=token).get_json()["user"]["followers_count"] == 0
    assert profile(call, fan).get_json()["following_count"] == 0


def test_counters_move_only_with_edges_that_commit(call):
    """The database moves the counters at commit: a follow that rolls back moves nothing,
    and an edge removed some other way than an unfollow still counts."""
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork

    channel, _ = new_user(call, "ch")
    fan, _ = new_user(call)
    with UnitOfWork() as uow:
        ids = [uow.users.get_by_username(name).id for name in (fan, channel)]
        assert uow.follows.follow(*ids)
        uow.rollback()
    assert profile(call, channel).get_json()["followers_count"] == 0
    with UnitOfWork() as uow:
        uow.follows.follow(*ids)
        uow.commit()
    assert profile(call, channel).get_json()["followers_count"] == 1
    with UnitOfWork() as uow:
        uow.session.execute(text("DELETE FROM user_relationships WHERE followed_id = :c"),
                            {"c": ids[1]})
        uow.commit()
    assert profile(call, channel).get_json()["followers_count"] == 0
    assert profile(call, fan).get_json()["following_count"] == 0


def test_following_yourself_is_400_and_an_unknown_user_404(call):
    name, token = new_user(call)
    own = call("follow", path=f"/api/users/{name}/follow", token=token)
    assert own.status_code == 400 and own.get_json()["error"]["code"] == "cannot_follow_self"
    assert call("follow", path="/api/users/no_such_user_x/follow", token=token).status_code == 404
    assert call("follow", path=f"/api/users/{name}/follow").status_code == 401


def test_fifty_clients_following_at_once_count_exactly_fifty(call):
    channel, _ = new_user(call, "ch")
    fans = [new_user(call)[1] for _ in range(50)]

    def follow(token):
        return call("follow", path=f"/api/users/{channel}/follow", token=token).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(follow, fans))
    assert statuses == [200] * 50
    assert profile(call, channel).get_json()["followers_count"] == 50
    listed = call("list-followers", path=f"/api/users/{channel}/followers?limit=100")
    assert len(listed.get_json()["items"]) == 50


def test_mutual_follows_at_once_neither_deadlock_nor_miscount(call):
    pairs = [(new_user(call), new_user(call)) for _ in range(10)]

    def follow(args):
        (_, token), (target, _) = args
        return call("follow", path=f"/api/users/{target}/follow", token=token).status_code

    jobs = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]
    with ThreadPoolExecutor(max_workers=20) as pool:
        assert set(pool.map(follow, jobs)) == {200}
    for (a, _), (b, _) in pairs:
        for name in (a, b):
            body = profile(call, name).get_json()
            assert body["followers_count"] == 1 and body["following_count"] == 1


def test_follower_lists_are_newest_first_in_keyset_pages(call):
    channel, _ = new_user(call, "ch")
    fans = []
    for _ in range(25):
        name, token = new_user(call)
        call("follow", path=f"/api/users/{channel}/follow", token=token)
        fans.append(name)
    seen, cursor = [], None
    while True:
        query = "?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = call("list-followers", path=f"/api/users/{channel}/followers{query}").get_json()
        seen += [item["user"]["username"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(fans))
    following = call("list-following", path=f"/api/users/{fans[0]}/following").get_json()
    assert [i["user"]["username"] for i in following["items"]] == [channel]


@pytest.mark.parametrize("query", ["?cursor=garbage", "?cursor=WyJ4Il0", "?limit=0",
                                   "?limit=101", "?limit=ten", "?sort=name"])
def test_bad_list_parameters_are_400(call, query):
    channel, _ = new_user(call, "ch")
    response = call("list-followers", path=f"/api/users/{channel}/followers{query}")
    assert response.status_code == 400


def test_follow_status_says_whether_you_follow_a_channel(call):
    import uuid as _uuid

    def account(prefix):
        name = f"{prefix}_{_uuid.uuid4().hex[:8]}"
        token = call("register", json={"username": name, "email": f"{name}@example.com",
                                       "password": "correct horse"}).get_json()["access_token"]
        return name, token

    channel, _ = account("fs")
    _, fan = account("fs")
    path = f"/api/users/{channel}/follow"
    before = call("follow-status", path=path, token=fan).get_json()
    assert before["following"] is False and before["user"]["username"] == channel
    call("follow", path=path, token=fan)
    assert call("follow-status", path=path, token=fan).get_json()["following"] is True
    assert call("follow-status", path=path).status_code == 401
    assert call("follow-status", path="/api/users/nobody_here_x/follow", token=fan).status_code == 404


def test_the_follow_button_says_whether_the_channel_is_live(call):
    from tests.integration.test_streams import go_live

    channel, channel_token = new_user(call, "ch")
    fan, token = new_user(call)
    path = f"/api/users/{channel}/follow"
    assert call("follow", path=path, token=token).get_json()["user"]["is_live"] is False
    go_live(call, channel_token)
    assert call("unfollow", path=path, token=token).get_json()["user"]["is_live"] is True
    assert call("follow", path=path, token=token).get_json()["user"]["is_live"] is True
    assert call("follow", path=path, token=token).get_json()["user"]["is_live"] is True, \
        "a follow that changes nothing answers the same"


def test_a_token_of_an_account_that_is_gone_cannot_follow(call):
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork

    channel, _ = new_user(call, "ch")
    fan, token = new_user(call)
    with UnitOfWork() as uow:  # an operator removed the account; its token has minutes left
        uow.session.execute(text("DELETE FROM users WHERE username = :u"), {"u": fan})
        uow.commit()
    answer = call("follow", path=f"/api/users/{channel}/follow", token=token)
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "invalid_token"
    assert profile(call, channel).get_json()["followers_count"] == 0
