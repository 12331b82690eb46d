/**
 * The prompt paths express answers (model calls through prompts go through the pipeline: surface.ts):
 *
 *   GET    /v1beta/prompts/{name}                        a tenant's view: labels, versions, variables, experiment
 *   POST   /v1beta/feedback                              {"responseId", "metric", "value"}: an outcome of a call
 *   GET    /admin/prompts                                every prompt: labels (and where they come from), versions
 *   GET    /admin/prompts/{name}                         one prompt, with the store's label moves
 *   PUT    /admin/prompts/{name}/labels/{label}          {"version": n}: move a label, every instance, no restart
 *   DELETE /admin/prompts/{name}/labels/{label}          back to prompt.json's version
 *   GET    /admin/experiments/{name}?metric=…            per-variant statistics and the comparison (experiments.ts)
 *
 * Template text never leaves the gateway through these paths (it is in the repository for those who review it).
 */
import type { Express, Request, Response } from "express";
import { readAdminJson } from "../../http/admin-body.js";
import { guarded as guardedBy } from "../../http/guarded.js";
import { writeJson } from "../../http/write.js";
import type { Keyring } from "../../pipeline/authenticate.js";
import type { ExperimentLedger } from "../../prompts/experiments.js";
import type { PromptDef, PromptRegistry } from "../../prompts/registry.js";
import type { PromptResolver } from "../../prompts/resolve.js";
import { LABEL_PATTERN } from "../../prompts/schema.js";
import type { PromptState } from "../../prompts/state.js";
import type { Logger } from "../../telemetry/logger.js";
import { storeAwareError } from "../../store/store.js";
import { errors, GatewayError } from "../../wire/errors.js";

export interface PromptSurface {
  registry: PromptRegistry;
  resolver: PromptResolver;
  state: PromptState;
  ledger: ExperimentLedger;
  keyring: Keyring;
  logger: Logger;
}

type Handler = (req: Request, res: Response) => Promise<void>;
export type AdminOnly = (howToEnable: string, handler: Handler) => Handler;

const ENABLE_ADMIN = "set GATEWAY_ADMIN_KEY_SHA256 to enable it";

export function mountPromptRoutes(app: Express, p: PromptSurface, adminOnly: AdminOnly): void {
  const guarded = (handler: Handler): Handler => guardedBy(handler, storeAwareError);
  const promptOf = (req: Request): PromptDef => {
    const name = String((req.params as { name: string }).name);
    const prompt = p.registry.prompts.get(name);
    if (!prompt) throw new GatewayError(404, "NOT_FOUND", `No prompt ${name.slice(0, 64)}.`);
    return prompt;
  };
  const labels = async (prompt: PromptDef) =>
    Object.fromEntries(
      await Promise.all(
        Object.keys(prompt.file.labels).map(async (l) => [l, await p.resolver.labelVersion(prompt, l)] as const),
      ),
    );

  app.get(
    "/v1beta/prompts/:name",
    guarded(async (req, res) => {
      p.keyring.authenticate(req.headers, req.rawHeaders);
      const prompt = promptOf(req);
      const x = prompt.experiment;
      writeJson(res, 200, {
        name: prompt.name,
        description: prompt.file.description,
        labels: Object.fromEntries(Object.entries(await labels(prompt)).map(([l, v]) => [l, v.version])),
        versions: [...prompt.versions.values()].map((v) => ({
          version: v.version,
          description: v.file.description,
          variables: v.file.variables,
          models: v.file.models,
          critical: v.file.fallback !== undefined,
        })),
        metrics: prompt.file.metrics ?? {},
        experiment: x && {
          name: x.name,
          label: x.label,
          holdout: x.holdout,
          variants: x.variants.map((v) => v.name),
        },
      });
    }),
  );

  app.post(
    "/v1beta/feedback",
    guarded(async (req, res) => {
      const identity = p.keyring.authenticate(req.headers, req.rawHeaders);
      const body = await readAdminJson(req);
      const recorded = await p.ledger.feedback(identity.tenant.id, {
        responseId: body.responseId,
        metric: body.metric,
        value: body.value,
      });
      writeJson(res, 200, { recorded: { responseId: body.responseId, ...recorded, value: body.value } });
    }),
  );

  app.get(
    "/admin/prompts",
    adminOnly(
      ENABLE_ADMIN,
      guarded(async (_req, res) => {
        const prompts = await Promise.all(
          [...p.registry.prompts.values()].map(async (prompt) => ({
            name: prompt.name,
            labels: await labels(prompt),
            versions: [...prompt.versions.keys()],
            experiment: prompt.experiment?.name,
          })),
        );
        writeJson(res, 200, { prompts });
      }),
    ),
  );

  app.get(
    "/admin/prompts/:name",
    adminOnly(
      ENABLE_ADMIN,
      guarded(async (req, res) => {
        const prompt = promptOf(req);
        const moves = Object.fromEntries(
          await Promise.all(
            Object.keys(prompt.file.labels).map(async (l) => [l, (await p.state.labelMove(prompt.name, l)) ?? null]),
          ),
        );
        writeJson(res, 200, {
          name: prompt.name,
          labels: await labels(prompt),
          fileLabels: prompt.file.labels,
          moves,
          versions: [...prompt.versions.values()].map((v) => ({
            version: v.version,
            sha256: v.sha256,
            models: v.file.models,
            critical: v.file.fallback !== undefined,
          })),
          experiment: prompt.experiment ?? null,
          conclusion: prompt.experiment ? ((await p.state.conclusion(prompt.experiment.name)) ?? null) : null,
        });
      }),
    ),
  );

  const labelRoute = "/admin/prompts/:name/labels/:label";
  const labelOf = (req: Request, prompt: PromptDef): string => {
    const label = String((req.params as { label: string }).label);
    if (!LABEL_PATTERN.test(label) || !(label in prompt.file.labels)) {
      throw new GatewayError(404, "NOT_FOUND", `No label ${label.slice(0, 32)} of prompt ${prompt.name}.`);
    }
    return label;
  };
  app.put(
    labelRoute,
    adminOnly(
      ENABLE_ADMIN,
      guarded(async (req, res) => {
        const prompt = promptOf(req);
        const label = labelOf(req, prompt);
        const { version } = await readAdminJson(req);
        if (typeof version !== "number" || !prompt.versions.has(version)) {
          throw errors.invalidArgument(
            `version must be one of ${[...prompt.versions.keys()].join(", ")} (the versions of ${prompt.name}).`,
          );
        }
        const before = await p.resolver.labelVersion(prompt, label);
        const move = await p.state.moveLabel(prompt.name, label, version, "admin");
        p.logger.warn(
          { prompt: prompt.name, label, from: before.version, to: version },
          `prompt label moved: ${prompt.name} ${label} v${before.version} → v${version} (admin)`,
        );
        writeJson(res, 200, { prompt: prompt.name, label, ...move });
      }),
    ),
  );
  app.delete(
    labelRoute,
    adminOnly(
      ENABLE_ADMIN,
      guarded(async (req, res) => {
        const prompt = promptOf(req);
        const label = labelOf(req, prompt);
        await p.state.clearLabel(prompt.name, label);
        p.logger.warn(
          { prompt: prompt.name, label, to: prompt.file.labels[label] },
          `prompt label reset: ${prompt.name} ${label} → v${prompt.file.labels[label]} (prompt.json)`,
        );
        writeJson(res, 200, { prompt: prompt.name, label, version: prompt.file.labels[label], source: "file" });
      }),
    ),
  );

  app.get(
    "/admin/experiments/:name",
    adminOnly(
      ENABLE_ADMIN,
      guarded(async (req, res) => {
        const name = String((req.params as { name: string }).name);
        const metric = typeof req.query.metric === "string" ? req.query.metric : undefined;
        const report = await p.ledger.report(name, metric);
        if (!report) throw new GatewayError(404, "NOT_FOUND", `No experiment ${name.slice(0, 64)}.`);
        writeJson(res, 200, report);
      }),
    ),
  );
}
