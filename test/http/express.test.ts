// The wire contract (contract.ts) over real HTTP on dtasks/express, the router.
import { contractSuite } from "./contract.js";

contractSuite("express");
