"""Password checks: argon2 through pwdlib, failing closed on anything but a matching hash."""

import pytest

from schoolbase.auth.passwords import hash_password, verify_password


async def test_the_right_password_matches_its_hash_and_nothing_else_does():
    stored = await hash_password("correct horse battery")
    assert await verify_password("correct horse battery", stored)
    assert not await verify_password("wrong horse battery", stored)


@pytest.mark.parametrize("stored", [None, "", "!", "unused-hash", "$2b$12$not-a-real-bcrypt-hash"])
async def test_no_hash_or_an_unknown_one_admits_no_one(stored):
    assert await verify_password("correct horse battery", stored) is False
