import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClusterGraph, type LinkState } from './graph.js';

function state(origin: string, links: string[], services: string[] = [], seq = 1, epoch = 1): LinkState {
  return { origin, epoch, seq, address: '', links, services: services.map((name) => ({ name, since: 1 })) };
}

/** A graph as `self` sees it once every hub's state has arrived. */
function build(self: string, edges: [string, string][], services: Record<string, string[]> = {}): ClusterGraph {
  const adj = new Map<string, string[]>();
  for (const [a, b] of edges) {
    adj.set(a, [...(adj.get(a) ?? []), b]);
    adj.set(b, [...(adj.get(b) ?? []), a]);
  }
  const g = new ClusterGraph(self, 1);
  g.setLocal(
    adj.get(self) ?? [],
    (services[self] ?? []).map((name) => ({ name, since: 1 })),
  );
  for (const [hub, links] of adj) if (hub !== self) g.apply(state(hub, links, services[hub] ?? []));
  return g;
}

void test('a line A-B-C routes A->C through B; services are found on their hub', () => {
  const g = build(
    'A',
    [
      ['A', 'B'],
      ['B', 'C'],
    ],
    { C: ['echo'] },
  );
  assert.equal(g.nextHop('C'), 'B');
  assert.equal(g.distance('C'), 2);
  assert.deepEqual(g.hubsWithService('echo'), ['C']);
  assert.deepEqual(g.reachable().sort(), ['A', 'B', 'C']);
});

void test('a ring of four reroutes the long way when a hub goes, and back when it returns', () => {
  const g = build(
    'A',
    [
      ['A', 'B'],
      ['B', 'C'],
      ['C', 'D'],
      ['D', 'A'],
    ],
    { C: ['svc'] },
  );
  assert.equal(g.distance('C'), 2);
  // B stops: A and C flood states without B.
  let change = g.setLocal(['D'], []).change;
  assert.equal(g.nextHop('C'), 'D');
  change = g.apply(state('C', ['D'], ['svc'], 2)).change;
  assert.equal(g.nextHop('B'), undefined);
  assert.ok(change.down.includes('B'));
  assert.equal(g.nextHop('C'), 'D');
  // B returns with a new boot epoch and a low sequence number: it still wins.
  g.apply(state('B', ['A', 'C'], [], 1, 2));
  g.setLocal(['B', 'D'], []);
  change = g.apply(state('C', ['B', 'D'], ['svc'], 3)).change;
  assert.equal(g.nextHop('B'), 'B');
  assert.equal(g.distance('C'), 2);
});

void test('one-sided links are ignored; stale states are not accepted', () => {
  const g = new ClusterGraph('A', 1);
  g.setLocal(['B'], []);
  assert.equal(g.nextHop('B'), undefined, 'B has not confirmed');
  assert.ok(g.apply(state('B', ['A'], ['x'], 5)).accepted);
  assert.equal(g.nextHop('B'), 'B');
  assert.ok(!g.apply(state('B', [], [], 4)).accepted);
  assert.ok(!g.apply(state('B', [], [], 5)).accepted);
  const change = g.apply(state('B', ['A'], [], 6)).change;
  assert.deepEqual(change.servicesDown, [{ hub: 'B', service: 'x' }]);
  assert.deepEqual(g.forget('B').down, ['B']);
});

void test('property: next hops follow shortest paths on random connected graphs', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 9 }),
      fc.array(fc.tuple(fc.nat(8), fc.nat(8)), { maxLength: 20 }),
      (n, extra) => {
        const names = Array.from({ length: n }, (_, i) => `h${i}`);
        const edges: [string, string][] = [];
        for (let i = 1; i < n; i++) edges.push([names[i - 1]!, names[i]!]); // connected backbone
        for (const [a, b] of extra) if (a < n && b < n && a !== b) edges.push([names[a]!, names[b]!]);
        const g = build('h0', edges);
        // Reference distances by Floyd-style relaxation.
        const d = new Map<string, number>(names.map((x) => [x, x === 'h0' ? 0 : Infinity]));
        for (let k = 0; k < n; k++)
          for (const [a, b] of edges) {
            d.set(b, Math.min(d.get(b)!, d.get(a)! + 1));
            d.set(a, Math.min(d.get(a)!, d.get(b)! + 1));
          }
        for (const x of names.slice(1)) {
          assert.equal(g.distance(x), d.get(x));
          const hop = g.nextHop(x)!;
          assert.equal(d.get(hop), 1, 'next hop is a neighbor');
          const fromHop = build(hop, edges);
          assert.equal(fromHop.distance(x), d.get(x)! - 1, 'next hop is on a shortest path');
        }
      },
    ),
    { numRuns: 60 },
  );
});
