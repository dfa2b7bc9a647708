"""The tasks of `make bench-scale`: one user's N tasks, written straight into the database
(SQLite: executemany in large transactions; PostgreSQL: COPY) through the schema the migrations
made, so the search triggers and the indexes are the ones users get.

Each task is a function of its index alone (`Dataset.row`), so the benchmark can rebuild any
task (the last row of a page, for its cursor) without keeping a million in memory. Titles are
3-6 words of a vocabulary of a few hundred (some accented); one task in 3 also has the common
marker word, one in 5,000 the rare one. Status and priority are uniform, one task in 10 has no
due date, and `created_at` grows with the index (so the newest task has the last index).
"""

import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from pydantic import TypeAdapter
from sqlalchemy import Engine, insert, make_url

from app.domain.models import Task, TaskRecord
from app.domain.search import search_text
from generated.models import TaskPriority, TaskStatus

_WORDS = """
    account action address agenda agreement alarm album allergy analysis anchor answer apple
    appointment april archive article audit august backup badge bakery balance balcony banner
    basket battery beach bicycle birthday blanket blog board boiler bonus book booking border
    bottle branch bread breakfast brief bucket budget bug build bulb cabinet cable calendar
    camera campaign candle canvas carpet cart catalog ceiling chair chapter charger checklist
    cheese chimney cinema claim class client closet coffee collar column comment contract
    cookie copy corner costume cotton council coupon course cover crate credit curtain cushion
    customer dashboard database deadline deck delivery dentist deploy deposit design desk
    diary dinner discount dishwasher doctor document domain donation door draft drawer dress
    driver dryer editor election email engine envelope estimate event exam expense fabric
    fan feedback fence ferry festival file filter finance fixture flight floor flower folder
    form fountain frame freezer fridge friday funding furniture gallery garage garden gate
    gift glass glove grant grocery guest guide guitar gutter habit hallway hammer handbook
    harbor heater helmet hinge holiday homework hotel house insurance interview inventory
    invoice island jacket january journal july june kettle keyboard kitchen ladder lamp
    laptop laundry lawn lease lecture ledger letter library license lightbulb lock logo
    lunch mailbox manual map market meeting memo menu message milestone mirror monday
    monitor mortgage motor museum newsletter notebook notice office oven package paint
    painting pantry paper parcel parking party passport password payment pencil pension
    permit phone photo piano picnic pillow pipeline plan plant plumber pocket podcast
    policy portal poster printer project proposal pump puzzle quarter radiator receipt
    recipe record refund release rent repair report request research review roof router
    saturday schedule school screen script season server shelf shoes shopping shower
    signature sink sketch slide sofa speech spreadsheet staircase statement storage
    subscription summary sunday supplier survey sweater table tablet ticket timeline tire
    toolbox towel training ticketing translation travel trip tuesday umbrella update
    vacation vendor video visa voucher wallet wardrobe washer website wednesday window
    winter workshop yard café résumé naïve façade crème jalapeño smörgåsbord über piñata
"""
VOCABULARY = tuple(_WORDS.split())
TITLE_WORDS = (3, 6)
COMMON_WORD, COMMON_EVERY = "zephyr", 3  # in a third of the tasks
RARE_WORD, RARE_EVERY = "quokka", 5000  # in one task of 5,000
NO_DUE_DATE_EVERY = 10
FIRST_CREATED_AT = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
CREATED_EVERY = timedelta(seconds=30)  # a million tasks span about a year
ROWS_PER_TRANSACTION = 20_000
PROGRESS_SECONDS = 3.0

_TASK = Task.metadata.tables["task"]
_RECORD = TypeAdapter(TaskRecord)
_PRIORITIES = tuple(p.value for p in TaskPriority)
_STATUSES = tuple(s.value for s in TaskStatus)


@dataclass(frozen=True)
class Dataset:
    owner_id: uuid.UUID
    count: int

    def rare_indexes(self) -> set[int]:
        """Where the rare word goes: spread evenly, at least once even under 5,000 tasks."""
        rare = max(1, self.count // RARE_EVERY)
        return {(2 * k + 1) * self.count // (2 * rare) for k in range(rare)}

    def row(self, index: int, rare: set[int]) -> dict[str, Any]:
        """Every column of task number `index` (0 is the oldest); `rare` is `rare_indexes()`."""
        rng = random.Random(f"{self.owner_id}:{index}")
        chosen = rng.choices(VOCABULARY, k=rng.randint(*TITLE_WORDS))
        for marker, present in (
            (COMMON_WORD, index % COMMON_EVERY == 0),
            (RARE_WORD, index in rare),
        ):
            if present:
                chosen.insert(rng.randint(0, len(chosen)), marker)
        title = " ".join(chosen).capitalize()
        created_at = FIRST_CREATED_AT + index * CREATED_EVERY
        created_at += timedelta(microseconds=rng.randrange(1_000_000))
        due_date = None
        if rng.randrange(NO_DUE_DATE_EVERY):
            due_date = created_at + timedelta(minutes=rng.randrange(-10 * 1440, 60 * 1440))
        return {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "user_id": self.owner_id,
            "title": title,
            "search_text": search_text(title),
            "description": None if rng.randrange(2) else "Seeded by the scale benchmark.",
            "priority": rng.choice(_PRIORITIES),
            "status": rng.choice(_STATUSES),
            "due_date": due_date,
            "version": 1,
            "created_at": created_at,
            "updated_at": created_at,
        }

    def record(self, index: int) -> TaskRecord:
        """Task number `index` as the app reads it back."""
        row = self.row(index, self.rare_indexes())
        return _RECORD.validate_python(tuple(row[name] for name in TaskRecord._fields))

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows in order, as tuples of the task table's columns, `size` at a time."""
        rare = self.rare_indexes()
        names = [column.name for column in _TASK.c]
        for start in range(0, self.count, size):
            rows = (self.row(i, rare) for i in range(start, min(start + size, self.count)))
            yield [tuple(row[name] for name in names) for row in rows]


class RowProgress:
    """A line on stderr every few seconds: rows written, the rate and the time left."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.start = self.last = time.monotonic()
        self.done = 0

    def add(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS or self.done == self.total:
            self.last = now
            rate = self.done / (now - self.start) if now > self.start else 0.0
            left = (self.total - self.done) / rate if rate else 0.0
            print(
                f"  {self.label}: {self.done:,} of {self.total:,} tasks "
                f"({100 * self.done / self.total:.0f}%), {rate:,.0f} rows/s, ~{left:.0f} s left",
                file=sys.stderr,
                flush=True,
            )

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start


def load_sqlite(engine: Engine, dataset: Dataset, progress: RowProgress) -> None:
    """executemany of the rows, ROWS_PER_TRANSACTION a transaction; then ANALYZE and a
    checkpoint, so the server starts on planner statistics and an empty WAL."""
    names = [column.name for column in _TASK.c]
    with engine.connect() as connection:
        for batch in dataset.batches(ROWS_PER_TRANSACTION):
            with connection.begin():
                connection.execute(
                    insert(_TASK), [dict(zip(names, row, strict=True)) for row in batch]
                )
            progress.add(len(batch))
    raw = engine.raw_connection()  # no transaction: a checkpoint cannot run inside one
    try:
        driver = raw.driver_connection
        assert driver is not None
        driver.execute("ANALYZE")
        driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def load_postgres(url: str, dataset: Dataset, progress: RowProgress) -> None:
    """COPY of the rows, in one transaction; then VACUUM ANALYZE (statistics, and the
    visibility map that index-only scans need, as autovacuum would leave them)."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    columns = ", ".join(f'"{column.name}"' for column in _TASK.c)
    with psycopg.connect(conninfo) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY task ({columns}) FROM STDIN") as copy,
        ):
            for batch in dataset.batches(ROWS_PER_TRANSACTION):
                for row in batch:
                    copy.write_row(row)
                progress.add(len(batch))
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE task")
