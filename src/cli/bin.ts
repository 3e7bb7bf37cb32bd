#!/usr/bin/env node
/**
 * The `dtasks` executable. All logic is in {@link main}; this file only connects it to the process.
 *
 * @example
 * npx dtasks build src --out-dir dist
 *
 * @module
 */
import { main } from "./index.js";

process.exitCode = await main(process.argv.slice(2));
