/**
 * Vertex AI batch prediction for Gemini (`batchPredictionJobs` of one project and location): create, get, list,
 * cancel (`:cancel`) and delete. The input is one JSONL file in Cloud Storage (storage.ts) whose lines are
 * `{"request": GenerateContentRequest, …}`; the output is `{outputUriPrefix}/prediction-model-{time}/predictions.jsonl`
 * with one line per input line: the input's fields, then `response` (a GenerateContentResponse with usageMetadata)
 * and `status` ("" when it succeeded, the error otherwise).
 *
 * Time compression: a job is JOB_STATE_QUEUED when created, PENDING after `resources.batchStepMs`, RUNNING after two
 * steps and done after three — SUCCEEDED, or, on request (`resources.batchOutcome`), FAILED (nothing written) or
 * PARTIALLY_SUCCEEDED (the last line fails). A line that is not a valid request fails on its own. State is worked out
 * when the job is read, so nothing runs in the background and the outcome is a function of the clock.
 */
import { errors, GatewayError } from "../wire/errors.js";
import { GenerateContentRequestSchema, describeIssues } from "../wire/gemini.js";
import { generateCandidates } from "./generate.js";
import { fullResponse } from "./responses.js";
import { KNOWN_MODELS } from "./routes.js";
import type { ObjectStore } from "./storage.js";
import { countPrompt } from "./tokens.js";

type JobState =
  | "JOB_STATE_QUEUED"
  | "JOB_STATE_PENDING"
  | "JOB_STATE_RUNNING"
  | "JOB_STATE_SUCCEEDED"
  | "JOB_STATE_PARTIALLY_SUCCEEDED"
  | "JOB_STATE_FAILED"
  | "JOB_STATE_CANCELLED";

interface BatchJob {
  id: string;
  parent: string;
  body: Record<string, unknown>;
  model: string;
  created: number;
  state: JobState;
  updated: number;
  /** Set when it ended. */
  ended?: number;
  error?: { code: number; message: string };
  outputDirectory?: string;
  stats?: { successfulCount: string; failedCount: string; incompleteCount: string };
}

const TERMINAL: ReadonlySet<JobState> = new Set([
  "JOB_STATE_SUCCEEDED",
  "JOB_STATE_PARTIALLY_SUCCEEDED",
  "JOB_STATE_FAILED",
  "JOB_STATE_CANCELLED",
]);

export class BatchStore {
  private readonly jobs = new Map<string, BatchJob>();
  constructor(
    private readonly ids: () => string,
    private readonly storage: ObjectStore,
    private readonly settings: () => {
      responseTokens: number;
      batchStepMs: number;
      batchOutcome: "succeeded" | "failed" | "partial";
    },
  ) {}

  clear(): void {
    this.jobs.clear();
  }

  create(parent: string, body: Record<string, unknown>, now = Date.now()): Record<string, unknown> {
    const model = typeof body.model === "string" ? /(?:^|\/)models\/([^/]+)$/.exec(body.model)?.[1] : undefined;
    if (!model || !KNOWN_MODELS.has(model)) {
      throw errors.invalidArgument(
        `BatchPredictionJob.model must be publishers/google/models/{model} of a known model.`,
      );
    }
    const input = body.inputConfig as { instancesFormat?: string; gcsSource?: { uris?: unknown } } | undefined;
    const output = body.outputConfig as { gcsDestination?: { outputUriPrefix?: unknown } } | undefined;
    const uris = input?.gcsSource?.uris;
    if (!Array.isArray(uris) || uris.length !== 1 || typeof uris[0] !== "string" || !uris[0].startsWith("gs://")) {
      throw errors.invalidArgument("inputConfig.gcsSource.uris must be one gs:// JSONL file.");
    }
    if (typeof output?.gcsDestination?.outputUriPrefix !== "string") {
      throw errors.invalidArgument("outputConfig.gcsDestination.outputUriPrefix is required.");
    }
    const job: BatchJob = {
      id: this.ids(),
      parent,
      body,
      model,
      created: now,
      state: "JOB_STATE_QUEUED",
      updated: now,
    };
    this.jobs.set(job.id, job);
    return this.view(job);
  }

  get(id: string, now = Date.now()): Record<string, unknown> {
    return this.view(this.advance(this.find(id), now));
  }

  list(parent: string, now = Date.now()): Record<string, unknown> {
    const jobs = [...this.jobs.values()].filter((j) => j.parent === parent);
    return { batchPredictionJobs: jobs.map((j) => this.view(this.advance(j, now))) };
  }

  cancel(id: string, now = Date.now()): Record<string, unknown> {
    const job = this.advance(this.find(id), now);
    if (TERMINAL.has(job.state)) {
      throw new GatewayError(400, "FAILED_PRECONDITION", `BatchPredictionJob ${id} is already ${job.state}.`);
    }
    job.state = "JOB_STATE_CANCELLED";
    job.updated = job.ended = now;
    return {};
  }

  delete(id: string): Record<string, unknown> {
    const job = this.find(id);
    this.jobs.delete(id);
    return { name: `${job.parent}/operations/delete-${id}`, done: true, response: {} };
  }

  private find(id: string): BatchJob {
    const job = this.jobs.get(id);
    if (!job) throw new GatewayError(404, "NOT_FOUND", `BatchPredictionJob ${id.slice(0, 100)} was not found.`);
    return job;
  }

  /** Moves a job along the states its age has reached; runs it (reads input, writes output) when it ends. */
  private advance(job: BatchJob, now: number): BatchJob {
    if (TERMINAL.has(job.state)) return job;
    const { batchStepMs: step } = this.settings();
    const steps = step === 0 ? 3 : Math.floor((now - job.created) / step);
    if (steps < 1) return job;
    if (steps < 3) {
      job.state = steps === 1 ? "JOB_STATE_PENDING" : "JOB_STATE_RUNNING";
      job.updated = job.created + steps * step;
      return job;
    }
    this.run(job);
    job.updated = job.ended = job.created + 3 * step;
    return job;
  }

  private run(job: BatchJob): void {
    const { batchOutcome, responseTokens } = this.settings();
    if (batchOutcome === "failed") {
      job.state = "JOB_STATE_FAILED";
      job.error = { code: 13, message: "The batch prediction job failed (emulator: batchOutcome=failed)." };
      return;
    }
    const uri = ((job.body.inputConfig as { gcsSource: { uris: string[] } }).gcsSource.uris[0] ?? "").slice(5);
    const slash = uri.indexOf("/");
    const input = this.storage.get(uri.slice(0, slash), uri.slice(slash + 1));
    if (!input) {
      job.state = "JOB_STATE_FAILED";
      job.error = { code: 5, message: `The input file gs://${uri} was not found.` };
      return;
    }
    const lines = input.data
      .toString("utf8")
      .split("\n")
      .filter((l) => l.trim());
    let ok = 0;
    let failed = 0;
    const out = lines.map((line, i) => {
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(line) as Record<string, unknown>;
      } catch {
        failed++;
        return JSON.stringify({ status: "Bad Request: the line is not JSON." });
      }
      const parsed = GenerateContentRequestSchema.safeParse(doc.request);
      if (!parsed.success || (batchOutcome === "partial" && i === lines.length - 1)) {
        failed++;
        const why = parsed.success ? "emulator: batchOutcome=partial" : describeIssues(parsed.error);
        return JSON.stringify({ ...doc, status: `Bad Request: ${why}` });
      }
      const req = parsed.data;
      const prompt = countPrompt(req.contents, req.systemInstruction, req.tools);
      const cands = generateCandidates({
        model: job.model,
        contents: req.contents,
        systemInstruction: req.systemInstruction,
        generationConfig: req.generationConfig,
        responseTokens,
        tools: req.tools,
        toolConfig: req.toolConfig,
      });
      const meta = {
        vertex: true,
        modelVersion: job.model,
        responseId: `${job.id}-${i}`,
        createTime: new Date(job.created).toISOString(),
      };
      ok++;
      return JSON.stringify({ ...doc, response: JSON.parse(fullResponse(meta, cands, prompt)), status: "" });
    });
    const prefix = (
      job.body.outputConfig as { gcsDestination: { outputUriPrefix: string } }
    ).gcsDestination.outputUriPrefix.replace(/\/+$/, "");
    const directory = `${prefix}/prediction-model-${new Date(job.created).toISOString().replace(/[:.]/g, "-")}`;
    const path = directory.slice(5);
    const cut = path.indexOf("/");
    this.storage.put(
      path.slice(0, cut),
      `${path.slice(cut + 1)}/predictions.jsonl`,
      Buffer.from(out.join("\n") + "\n"),
      "application/jsonl",
    );
    job.outputDirectory = directory;
    job.stats = { successfulCount: String(ok), failedCount: String(failed), incompleteCount: "0" };
    job.state = failed === 0 ? "JOB_STATE_SUCCEEDED" : ok === 0 ? "JOB_STATE_FAILED" : "JOB_STATE_PARTIALLY_SUCCEEDED";
  }

  private view(job: BatchJob): Record<string, unknown> {
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    return {
      name: `${job.parent}/batchPredictionJobs/${job.id}`,
      displayName: job.body.displayName,
      model: `publishers/google/models/${job.model}`,
      inputConfig: job.body.inputConfig,
      outputConfig: job.body.outputConfig,
      state: job.state,
      ...(job.error ? { error: job.error } : {}),
      ...(job.outputDirectory ? { outputInfo: { gcsOutputDirectory: job.outputDirectory } } : {}),
      ...(job.stats ? { completionStats: job.stats } : {}),
      createTime: iso(job.created),
      ...(job.state !== "JOB_STATE_QUEUED" && job.state !== "JOB_STATE_PENDING"
        ? { startTime: iso(job.created + this.settings().batchStepMs * 2) }
        : {}),
      ...(job.ended !== undefined ? { endTime: iso(job.ended) } : {}),
      updateTime: iso(job.updated),
      ...(job.body.labels ? { labels: job.body.labels } : {}),
    };
  }
}
