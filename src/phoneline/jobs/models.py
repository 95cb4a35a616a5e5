"""Periodic passes every worker could run but only one should, per interval (jobs/schedule.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base


class JobSchedule(Base):
    __tablename__ = "job_schedules"

    # The pass, e.g. "line_health_sweep".
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # When the next pass is due; taking a pass moves it one interval on.
    next_run_at: Mapped[datetime]
    # The worker that took the latest pass, and when: for operators reading the table.
    taken_by: Mapped[str] = mapped_column(String(128))
    taken_at: Mapped[datetime]
