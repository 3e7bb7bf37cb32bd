// The document-processing sample, driven for real: the one command starts a web server (Hono,
// no worker) and a worker process. In headless Chromium the page uploads a document, starts its
// processing with `Async-CallbackType: websockets`, and shows "processed" when the message
// arrives: pushed by the server after the worker finished the flow. A screenshot is taken and
// checked. On Redis (`--store redis`) the same exchange is driven with a plain WebSocket client.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import { chromium } from "playwright-core";
import { redisPrefix } from "../../examples/documents/store.js";
import { wsConnect } from "../http/helpers.js";
import { start, stopAll } from "../http/processes.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await stopAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function oneCommand(args: string[]) {
  return start("examples/documents/run.ts", ["--port", "0", ...args], { PROCESSING_TIME_MS: "300" });
}

describe("documents sample", { timeout: 300_000 }, () => {
  test("in Chromium: upload, process with Async-CallbackType: websockets, and 'processed' appears", async () => {
    const data = tempDir("dtasks-documents-");
    const run = oneCommand(["--data", data]);
    const [, url] = await run.waitFor(/^ready: open (\S+)/);
    const serverPid = Number((await run.waitFor(/^\[server (\d+)\] listening/))[1]);
    const workerPid = Number((await run.waitFor(/^\[worker (\d+)\] ready/))[1]);

    const profile = tempDir("dtasks-chromium-");
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 900, height: 600 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      const started = page.waitForResponse(
        (r) => r.url().endsWith("/process") && r.request().method() === "POST",
      );
      await page.goto(url!);
      await page.getByText("Connected. Choose a document.").waitFor({ state: "visible", timeout: 15_000 });
      await page.setInputFiles("#file", {
        name: "quarterly report.txt",
        mimeType: "text/plain",
        buffer: Buffer.from("Revenue grew in every region.\nCosts fell.\nOutlook: good.\n"),
      });
      await page.click("#process");
      const accepted = await started;
      assert.equal(accepted.status(), 202, "the request was accepted, not answered in process");
      assert.equal(accepted.request().headers()["async-callbacktype"], "websockets");
      const { operationId } = (await accepted.json()) as { operationId: string };

      const result = page.locator("#result");
      await result.getByText("processed").waitFor({ state: "visible", timeout: 30_000 });
      const text = await result.textContent();
      assert.match(
        text!,
        /^Document quarterly report\.txt processed: 9 words, 4 lines, 57 bytes \(worker pid (\d+)\)\.$/,
      );
      // Finished by the worker process, pushed by the server process that accepted it.
      assert.equal(Number(/worker pid (\d+)/.exec(text!)![1]), workerPid);
      assert.notEqual(workerPid, serverPid);
      assert.ok(await result.isVisible());

      const shot = join(profile, "processed.png");
      await page.screenshot({ path: shot, fullPage: true });
      const png = readFileSync(shot);
      assert.deepEqual(
        [...png.subarray(0, 8)],
        [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
        "a PNG file",
      );
      assert.ok(png.length > 5_000, `a real screenshot (${png.length} bytes)`);
      // The pixels: decode the screenshot in the page (a canvas) and read the colour just inside
      // the result box: the light green of a processed document (#dcfce7), not the page's white.
      const bounds = (await result.boundingBox())!;
      // (A script string: this file is compiled without the DOM's types.)
      const dataUrl = `data:image/png;base64,${png.toString("base64")}`;
      const [x, y] = [Math.round(bounds.x + 6), Math.round(bounds.y + 6)];
      const pixel = (await page.evaluate(`(async () => {
        const image = new Image();
        image.src = ${JSON.stringify(dataUrl)};
        await image.decode();
        const canvas = document.createElement("canvas");
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext("2d");
        context.drawImage(image, 0, 0);
        return [...context.getImageData(${x}, ${y}, 1, 1).data];
      })()`)) as number[];
      assert.deepEqual(pixel, [220, 252, 231, 255], "the result box is green in the screenshot");
      if (process.env.DTASKS_SCREENSHOT) copyFileSync(shot, process.env.DTASKS_SCREENSHOT);
      assert.deepEqual(errors, []);

      const status = (await (await fetch(`${url}/async/${operationId}/status`)).json()) as { status: string };
      assert.equal(status.status, "succeeded");
    } finally {
      await context.close();
    }
    assert.equal(await run.stop(), 0);
  });

  test("on Redis with --store redis: the WebSocket is told when the worker has finished", async () => {
    const data = tempDir("dtasks-documents-");
    const run = oneCommand(["--data", data, "--store", "redis"]);
    try {
      const [, url] = await run.waitFor(/^ready: open (\S+)/);
      assert.ok(
        run.lines.some((l) => l.includes("(store: redis)")),
        run.lines.join("\n"),
      );
      const client = await wsConnect(url!);
      try {
        const upload = await fetch(`${url}/documents`, {
          method: "PUT",
          headers: { "x-filename": "a.txt" },
          body: "one two three",
        });
        const { documentId } = (await upload.json()) as { documentId: string };
        const missing = await fetch(`${url}/documents/00000000-0000-0000-0000-000000000000/process`, {
          method: "POST",
          headers: { "async-callbacktype": "websockets", "async-connectionid": client.connectionId },
        });
        assert.equal(missing.status, 404);
        const response = await fetch(`${url}/documents/${documentId}/process`, {
          method: "POST",
          headers: { "async-callbacktype": "websockets", "async-connectionid": client.connectionId },
        });
        assert.equal(response.status, 202);
        const { operationId } = (await response.json()) as { operationId: string };
        const message = await client.messages.next("the completion", 30_000);
        assert.equal(message.operationId, operationId);
        assert.equal(message.status, "succeeded");
        assert.equal((message.result as { words: number }).words, 3);
      } finally {
        client.close();
      }
    } finally {
      await run.stop();
      const redis = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
      const keys = await redis.keys(`${redisPrefix(data)}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
