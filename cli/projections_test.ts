import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "@flotilla/sqlite";
import { SqliteEventStore } from "@flotilla/eventstore";
import { main } from "./flotilla.ts";
import { memoryIo, tempDir } from "./_test_util.ts";

/** Appends `count` placed orders to the order service's database under `root`. */
async function seedOrders(root: string, count: number): Promise<void> {
  await Deno.mkdir(join(root, "order"), { recursive: true });
  await using store = new SqliteEventStore({ path: join(root, "order", "order.db") });
  for (let i = 0; i < count; i++) {
    const orderId = `o-${i}`;
    await store.append(`order-${orderId}`, [{
      id: crypto.randomUUID(),
      type: "OrderPlaced",
      data: {
        orderId,
        customerId: i % 2 === 0 ? "alice" : "bob",
        items: [{ sku: "TEA", quantity: 1, price: 850 }],
        total: 850,
        at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      },
    }], { expectedVersion: "no_stream" });
  }
}

function orderRows(root: string): { order_id: string; status: string }[] {
  const db = openDatabase(join(root, "order", "order.db"));
  try {
    return db.prepare("SELECT order_id, status FROM order_views ORDER BY order_id").all().map((
      row,
    ) => ({ ...row })) as {
      order_id: string;
      status: string;
    }[];
  } finally {
    db.close();
  }
}

Deno.test("flotilla projections rebuild builds the order projection from the events, again from zero", async () => {
  await using dir = await tempDir();
  await seedOrders(dir.path, 5);
  const env = { FLOTILLA_DATA_DIR: dir.path };
  const first = memoryIo();
  assert.equal(await main(["projections", "rebuild"], { io: first.io, env, cwd: dir.path }), 0);
  assert.deepEqual(first.out, ["order: order_views rebuilt from 5 events (to position 5)"]);
  assert.deepEqual(orderRows(dir.path).map((r) => r.order_id), ["o-0", "o-1", "o-2", "o-3", "o-4"]);

  // A read model gone wrong (a row lost, a row made up) is rebuilt as the events say.
  const db = openDatabase(join(dir.path, "order", "order.db"));
  db.exec("DELETE FROM order_views WHERE order_id = 'o-1'");
  db.exec("UPDATE order_views SET status = 'CONFIRMED' WHERE order_id = 'o-2'");
  db.close();
  const again = memoryIo();
  assert.equal(await main(["projections", "rebuild", "order"], { io: again.io, env }), 0);
  assert.deepEqual(orderRows(dir.path), [
    { order_id: "o-0", status: "PENDING" },
    { order_id: "o-1", status: "PENDING" },
    { order_id: "o-2", status: "PENDING" },
    { order_id: "o-3", status: "PENDING" },
    { order_id: "o-4", status: "PENDING" },
  ]);
});

Deno.test("flotilla projections rebuild says when there is nothing to rebuild, and refuses bad usage", async () => {
  await using dir = await tempDir();
  const env = { FLOTILLA_DATA_DIR: dir.path };
  const nothing = memoryIo();
  assert.equal(await main(["projections", "rebuild"], { io: nothing.io, env, cwd: dir.path }), 0);
  assert.deepEqual(nothing.out, [
    "order: order.db does not exist yet; nothing to rebuild",
    "No projection to rebuild.",
  ]);
  for (
    const args of [
      ["projections"],
      ["projections", "replay"],
      ["projections", "rebuild", "order", "extra"],
      ["projections", "rebuild", "warehouse"],
    ]
  ) {
    const usage = memoryIo();
    assert.equal(await main(args, { io: usage.io, env, cwd: dir.path }), 2, args.join(" "));
    assert.match(usage.err[0] ?? "", /projections/);
  }
  const bad = memoryIo();
  assert.equal(
    await main(["projections", "rebuild"], {
      io: bad.io,
      env: { ...env, FLOTILLA_EVENTSTORE: "mysql://x" },
      cwd: dir.path,
    }),
    1,
  );
  assert.match(bad.err[0] ?? "", /INVALID_EVENTSTORE_URL|event store URL/);
});
