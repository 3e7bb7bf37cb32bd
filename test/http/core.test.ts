// The wire contract (contract.ts) over real HTTP on the bare core behind node:http (what any other framework's adapter would do).
import { contractSuite } from "./contract.js";

contractSuite("core");
