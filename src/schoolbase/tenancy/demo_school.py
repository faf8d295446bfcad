"""What each part of the demo loader gets about the school it fills."""

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass
class DemoSchool:
    organization_id: uuid.UUID
    time_zone: str
    people: dict[str, uuid.UUID]  # handle -> user id
    classes: dict[str, uuid.UUID]  # class name -> id
    now: datetime  # the load's transaction time: demo dates are relative to it
