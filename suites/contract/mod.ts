// The suite contract: what suites declare and what the runner provides (see suite.ts).
export * from "./suite.ts";
export * from "./profiles.ts";
export * from "./verdict.ts";
export * from "./gate.ts";
export * from "./cases.ts";
