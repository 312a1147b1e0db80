/**
 * Orders: the classic double order, shown to be impossible.
 *
 *   npx tsx examples/orders/main.ts
 *
 * `OrderService.createOrder` is made idempotent with the `@Idempotent`
 * decorator, keyed by the client's request id. Duplicates get the same
 * order and stock is reserved once. Exits 1 if a guarantee did not hold.
 */
import { randomUUID } from "node:crypto";
import { Idempotent, MemoryStore } from "../../src/index.js";

interface OrderRequest {
  requestId: string;
  customer: string;
  items: Record<string, number>;
}

interface Order {
  orderId: string;
  customer: string;
  items: Record<string, number>;
  createdAt: Date;
}

class OutOfStockError extends Error {
  readonly code = "OUT_OF_STOCK";
  override name = "OutOfStockError";
}

const store = new MemoryStore({ maxEntries: 100_000 });

class OrderService {
  readonly stock = new Map<string, number>([
    ["espresso-beans", 10],
    ["grinder", 2],
  ]);
  readonly orders: Order[] = [];

  @Idempotent({
    store,
    key: (request: OrderRequest) => request.requestId,
    scope: (request: OrderRequest) => request.customer,
    cacheError: (error) => error instanceof OutOfStockError,
  })
  async createOrder(request: OrderRequest): Promise<Order> {
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (const [sku, quantity] of Object.entries(request.items)) {
      if ((this.stock.get(sku) ?? 0) < quantity)
        throw new OutOfStockError(`${sku}: not enough stock`);
    }
    for (const [sku, quantity] of Object.entries(request.items)) {
      this.stock.set(sku, (this.stock.get(sku) ?? 0) - quantity);
    }
    const order = {
      orderId: `ord_${randomUUID().slice(0, 8)}`,
      ...request,
      createdAt: new Date(),
    };
    this.orders.push(order);
    return order;
  }
}

const service = new OrderService();
const checks: Array<[string, boolean]> = [];
const check = (what: string, holds: boolean) => checks.push([what, holds]);

const request = {
  requestId: "req-1",
  customer: "carol",
  items: { "espresso-beans": 3, grinder: 1 },
};
const [a, b] = await Promise.all([
  service.createOrder(request),
  service.createOrder(request),
]);
const later = await service.createOrder({
  ...request,
  items: { grinder: 1, "espresso-beans": 3 },
});
console.log(
  `duplicate orders:  ${a.orderId}, ${b.orderId}, later retry ${later.orderId}`,
);
console.log(
  `created at:        ${later.createdAt instanceof Date ? "a Date, replayed as a Date" : typeof later.createdAt}`,
);
check(
  "duplicates return the same order",
  a.orderId === b.orderId && b.orderId === later.orderId,
);
check(
  "stock is reserved once",
  service.stock.get("espresso-beans") === 7 && service.stock.get("grinder") === 1,
);

const sameKeyOtherCustomer = await service.createOrder({ ...request, customer: "dave" });
console.log(
  `another customer:  ${sameKeyOtherCustomer.orderId} (same request id, own scope)`,
);
check("request ids are scoped per customer", sameKeyOtherCustomer.orderId !== a.orderId);

const greedy = { requestId: "req-9", customer: "erin", items: { grinder: 5 } };
const refused = await Promise.allSettled([
  service.createOrder(greedy),
  service.createOrder(greedy),
]);
console.log(
  `out of stock:      ${refused.map((r) => (r.status === "rejected" ? (r.reason as Error).name : "ordered?!")).join(", ")}`,
);
check(
  "out-of-stock is refused, not retried",
  refused.every((r) => r.status === "rejected"),
);

console.log(
  `\norders: ${service.orders.length}, stock: ${[...service.stock].map(([s, n]) => `${s}=${n}`).join(", ")}\n`,
);
check("exactly two orders exist (carol, dave)", service.orders.length === 2);
for (const [what, holds] of checks) console.log(`${holds ? "✔" : "✘"} ${what}`);
await store.close();
process.exitCode = checks.every(([, holds]) => holds) ? 0 : 1;
