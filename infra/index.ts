/**
 * Entry point of `pulumi preview/up` (Pulumi.yaml: main infra/). Pulumi calls the default export and publishes what it
 * returns as the stack outputs. A function rather than top-level code, so tests and the offline policy check can run
 * the program once per stack in one process (test/infra/harness.ts).
 */
import { gatewayStack } from "./program.js";

export default gatewayStack;
