/**
 * Events are built only for actions something listens to: a pull with no webhook and no plugin
 * listening costs no event (id, time, the instance's address), and one with a listener still
 * gets the whole event.
 */
import { describe, expect, test } from "bun:test";
import { HookBus } from "../../src/hooks/bus.ts";
import type { EventSource } from "../../src/hooks/events.ts";
import type { RegistryEvent } from "../../src/hooks/types.ts";
import { RegistryEvents } from "../../src/registry/registry-events.ts";

const REQUEST = { id: "r1", addr: "10.0.0.1", host: "registry.test", method: "GET", useragent: "test", actor: "" };
const TARGET = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"a".repeat(64)}`, size: 2, repository: "app", path: "/v2/app/manifests/x" };

/** A registry's event side whose source counts how often an event asked for its address. */
function setup() {
  const bus = new HookBus({ timeoutMs: 1000, onFailure: "deny" }, () => {});
  const reads = { addr: 0 };
  const source: EventSource = {
    get addr() {
      reads.addr++;
      return "host:5000";
    },
    instanceID: "i-1",
    publicUrl: "",
  };
  return { bus, reads, events: new RegistryEvents(bus, source) };
}

describe("events and their listeners", () => {
  test("with nothing listening, no event is built", async () => {
    const { bus, reads, events } = setup();
    expect(bus.listens("pull")).toBe(false);
    expect(events.hears("pull")).toBe(false);
    await events.announce("pull", TARGET, REQUEST);
    expect(reads.addr).toBe(0);
  });

  test("a listener of another action does not make a pull event", async () => {
    const { bus, reads, events } = setup();
    bus.addListener("p", "push", () => {}, { durable: true });
    expect(events.hears("pull")).toBe(false);
    await events.announce("pull", TARGET, REQUEST);
    expect(reads.addr).toBe(0);
  });

  test("a listener of the action, or of every action, gets the whole event", async () => {
    for (const action of ["pull", "*"] as const) {
      const { bus, events } = setup();
      const seen: RegistryEvent[] = [];
      bus.addListener("p", action, (event) => void seen.push(event), { durable: true });
      expect(events.hears("pull")).toBe(true);
      await events.announce("pull", TARGET, REQUEST);
      expect(seen).toHaveLength(1);
      expect(seen[0]?.source).toEqual({ addr: "host:5000", instanceID: "i-1" });
      expect(seen[0]?.request).toEqual({ id: "r1", addr: "10.0.0.1", host: "registry.test", method: "GET", useragent: "test" });
      expect(seen[0]?.target.url).toBe("http://registry.test/v2/app/manifests/x");
    }
  });
});
