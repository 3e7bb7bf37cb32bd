/**
 * CPU profiles of a measured section only (not of module loading and warm-up), through the
 * inspector, and a summary of where the time went: self time by function, and inclusive time of
 * the dtasks functions. Used by the reproductions in `bench/durable/repro/`.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { dirname } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Runs `body` under the CPU profiler; writes the profile to `file` if given; returns it. */
export async function profileSection(body: () => Promise<void>, file?: string): Promise<Profile> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  try {
    await body();
  } finally {
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile };
    session.disconnect();
    if (file !== undefined) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
    }
    lastProfile = profile;
  }
  return lastProfile!;
}
let lastProfile: Profile | undefined;

/** Lines "share  function  file:line", self time and inclusive time, the `top` largest of each. */
export function summarize(profile: Profile, top = 25): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    time.set(id, (time.get(id) ?? 0) + dt);
  });
  const key = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^file:\/\//, "").replace(/.*\/(src|bench|node_modules)\//, "$1/");
    return `${n.callFrame.functionName || "(anonymous)"}  ${url ? `${url}:${n.callFrame.lineNumber + 1}` : "(native)"}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, t] of time) {
    const node = byId.get(id)!;
    self.set(key(node), (self.get(key(node)) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + t);
    }
  }
  const lines = (m: Map<string, number>, filter: (k: string) => boolean) =>
    [...m]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
  return [
    `self time (${(total / 1000).toFixed(0)} ms sampled):`,
    ...lines(self, () => true),
    "inclusive time, dtasks functions:",
    ...lines(inclusive, (k) => k.includes("src/")),
  ];
}
