"""Creating people with a password: the CLI's and the demo's way in, as ``service_role``."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import Credential, User
from schoolbase.problems import PERSON_EXISTS


async def create_person(
    session: AsyncSession, email: str, display_name: str, password_hash: str, *, super_admin: bool = False
) -> User:
    if await session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise PERSON_EXISTS(f"{email} already has an account")
    user = User(email=email, display_name=display_name, is_super_admin=super_admin)
    session.add(user)
    await session.flush()
    session.add(Credential(user_id=user.id, password_hash=password_hash))
    await session.flush()
    return user
