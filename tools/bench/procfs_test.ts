import assert from "node:assert/strict";
import {
  CLOCK_TICKS_PER_SECOND,
  parseMachineStat,
  parseProcStat,
  parseProcStatus,
  sampleProcess,
} from "./procfs.ts";

Deno.test("parseProcStat: utime and stime, even with spaces and parentheses in the name", () => {
  const stat = "1234 (deno (worker) 1) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0";
  assert.deepEqual(parseProcStat(stat), { userTicks: 250, systemTicks: 75 });
  assert.throws(() => parseProcStat("garbage"), SyntaxError);
});

Deno.test("parseProcStatus: VmRSS and VmHWM in bytes", () => {
  const status = "Name:\tdeno\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
  assert.deepEqual(parseProcStatus(status), {
    rssBytes: 102_400 * 1024,
    peakRssBytes: 204_800 * 1024,
  });
});

Deno.test("parseMachineStat: busy ticks leave out idle and iowait", () => {
  const stat = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
  assert.deepEqual(parseMachineStat(stat), { busyTicks: 160, totalTicks: 980 });
});

Deno.test("sampleProcess: reads this process, null for one that is gone", async () => {
  const self = await sampleProcess(Deno.pid);
  assert.ok(self !== null && self.peakRssBytes >= self.rssBytes && self.rssBytes > 0);
  assert.ok(self.cpuSeconds >= 0 && CLOCK_TICKS_PER_SECOND === 100);
  assert.equal(await sampleProcess(2 ** 22 + 1), null);
});
