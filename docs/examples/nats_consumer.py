"""A consumer of ledgerflow's NATS JetStream stream (`ledgerflow stream evm --nats URL`).

It reads every message of the stream from the start and keeps, per table, the rows of each
block; an undo message removes the rows of its block (a reorganisation orphaned it), so
what it holds is always the canonical chain. Messages whose Nats-Msg-Id was already seen
are dropped (JetStream already drops repeats inside its de-duplication window; a consumer
that also keeps ids is exactly-once beyond it).

    pip install nats-py==2.9.0
    python docs/examples/nats_consumer.py --stream LEDGERFLOW_ANVIL --subjects 'ledgerflow.anvil.>'
    python docs/examples/nats_consumer.py --stream S --subjects 'P.>' --until-idle 2 --dump rows.json

Headers of every message: Nats-Msg-Id, Ledgerflow-Op (apply | undo), Ledgerflow-Chain,
Ledgerflow-Table, Ledgerflow-Block-Number, Ledgerflow-Block-Hash, Ledgerflow-Seq. An apply
message's body is the row as a JSON object; an undo message's body is
{"op": "undo", "chain", "table", "block_number", "block_hash"}.
"""

import argparse
import asyncio
import json

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


async def consume(server, stream, subjects, until_idle):
    nc = await nats.connect(server)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        subjects,
        stream=stream,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL),
    )
    held = {}  # (table, block hash) -> [row JSON text]
    seen = set()
    stats = {"messages": 0, "duplicates_dropped": 0, "undo_messages": 0}
    while True:
        try:
            msgs = await sub.fetch(batch=1000, timeout=until_idle)
        except NatsTimeout:
            if until_idle:
                break
            continue
        for m in msgs:
            stats["messages"] += 1
            h = m.headers or {}
            msg_id = h["Nats-Msg-Id"]
            if msg_id in seen:
                stats["duplicates_dropped"] += 1
                continue
            seen.add(msg_id)
            key = (h["Ledgerflow-Table"], h["Ledgerflow-Block-Hash"])
            if h["Ledgerflow-Op"] == "undo":
                stats["undo_messages"] += 1
                held.pop(key, None)
            else:
                held.setdefault(key, []).append(m.data.decode())
    await nc.close()
    tables = {}
    for (table, _), rows in held.items():
        tables.setdefault(table, []).extend(rows)
    return tables, stats


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", default="nats://127.0.0.1:4222")
    p.add_argument("--stream", required=True, help="JetStream stream, e.g. LEDGERFLOW_ANVIL")
    p.add_argument("--subjects", required=True, help="e.g. 'ledgerflow.anvil.>' or one table's subject")
    p.add_argument("--until-idle", type=float, default=None,
                   help="stop after this many seconds without a message (default: follow forever)")
    p.add_argument("--dump", help="write the rows held, per table, sorted, as JSON")
    a = p.parse_args()
    tables, stats = asyncio.run(consume(a.server, a.stream, a.subjects, a.until_idle))
    summary = dict(stats, rows={t: len(r) for t, r in sorted(tables.items())})
    print(json.dumps(summary))
    if a.dump:
        with open(a.dump, "w") as f:
            json.dump({t: sorted(r) for t, r in tables.items()}, f)


if __name__ == "__main__":
    main()
