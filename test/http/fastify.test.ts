// The wire contract (contract.ts) over real HTTP on dtasks/fastify, the plugin.
import { contractSuite } from "./contract.js";

contractSuite("fastify");
