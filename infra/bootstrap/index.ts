/**
 * Entry point of the bootstrap program (`pulumi up` in infra/bootstrap/). A default-exported function, as the
 * environment program's, so the offline runs and the tests can run it under mocks.
 */
import { bootstrapStack } from "./program.js";

export default bootstrapStack;
