// The wire contract (contract.ts) over real HTTP on dtasks/hono, middleware and route helper on @hono/node-server.
import { contractSuite } from "./contract.js";

contractSuite("hono");
