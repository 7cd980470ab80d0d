"""The same writes and reads with asyncpg (as the services do), SQLAlchemy Core and the SQLAlchemy ORM
(asyncpg driver)."""

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import Column, DateTime, String, Text, Uuid, insert, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

DSN = os.environ["LEADFLOW_ADMIN_DATABASE_URL"].split("?")[0].rsplit("/", 1)[0] + "/leadflow"
N, BATCH, ROUNDS = 20_000, 200, 3


class Base(DeclarativeBase):
    pass


class Lead(Base):
    __tablename__ = "orm_bench_leads"
    id = Column(Uuid, primary_key=True)
    email = Column(String(320))
    company = Column(Text)
    country = Column(String(2))
    created_at = Column(DateTime(timezone=True))


def rows():
    now = datetime.now(UTC)
    return [(uuid.uuid4(), f"p{i}@example.com", f"Company {i}", "DE", now) for i in range(N)]


async def with_asyncpg(data):
    conn = await asyncpg.connect(DSN, ssl=False)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, N, BATCH):
        async with conn.transaction():
            await conn.executemany("INSERT INTO orm_bench_leads VALUES ($1,$2,$3,$4,$5)", data[i : i + BATCH])
    for r in data[: N // 4]:
        await conn.fetchrow(
            "SELECT id, email, company, country, created_at FROM orm_bench_leads WHERE id = $1", r[0]
        )
    out = time.perf_counter() - t0, time.process_time() - c0
    await conn.close()
    return out


async def with_core(engine, data):
    t0, c0 = time.perf_counter(), time.process_time()
    cols = ("id", "email", "company", "country", "created_at")
    for i in range(0, N, BATCH):
        async with engine.begin() as conn:
            await conn.execute(insert(Lead), [dict(zip(cols, r, strict=True)) for r in data[i : i + BATCH]])
    async with engine.connect() as conn:
        for r in data[: N // 4]:
            (await conn.execute(select(Lead.__table__).where(Lead.id == r[0]))).first()
    return time.perf_counter() - t0, time.process_time() - c0


async def with_orm(engine, data):
    Session = async_sessionmaker(engine, expire_on_commit=False)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, N, BATCH):
        async with Session.begin() as s:
            s.add_all(
                [
                    Lead(id=a, email=b, company=c, country=d, created_at=e)
                    for a, b, c, d, e in data[i : i + BATCH]
                ]
            )
    async with Session() as s:
        for r in data[: N // 4]:
            await s.get(Lead, r[0])
    return time.perf_counter() - t0, time.process_time() - c0


async def main():
    engine = create_async_engine(
        DSN.replace("postgresql://", "postgresql+asyncpg://"), connect_args={"ssl": False}
    )
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    for r in range(ROUNDS):
        order = [
            ("asyncpg", lambda d: with_asyncpg(d)),
            ("sqlalchemy core", lambda d: with_core(engine, d)),
            ("sqlalchemy orm", lambda d: with_orm(engine, d)),
        ]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            async with engine.begin() as conn:
                await conn.execute(text("TRUNCATE orm_bench_leads"))
            t, cpu = await fn(rows())
            ops = N + N // 4
            print(
                f"round {r} {name:16s} {ops / t:8.0f} ops/s  client CPU {cpu / ops * 1e6:6.1f} µs/op",
                flush=True,
            )
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()


asyncio.run(main())
