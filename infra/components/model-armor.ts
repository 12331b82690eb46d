/**
 * Model Armor templates the gateway attaches to Vertex calls (a tenant's `modelArmor.promptTemplate` /
 * `responseTemplate` in the tenants file, service/src/config/tenants.ts). One template screens prompts (prompt
 * injection and jailbreak, sensitive data, malicious URIs, responsible-AI filters), one screens responses (the same
 * without the injection filter, which is about prompts). Their names are stack outputs: operators copy them into the
 * tenants file, which lives in Secret Manager (docs/operations.md).
 *
 * Vertex AI calls Model Armor as its own service agent, which needs roles/modelarmor.user on the project (granted to
 * the agent service-agents.ts creates first).
 *
 * Where: Vertex screens a call only with templates in the location it serves, and its Model Armor integration is
 * offered in a few locations (../model-armor-locations.ts). Tenants name one template, so the templates live in one
 * location and config.ts proves every region's gateway calls Vertex there (modelArmorPlacement).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { modelArmorPlacement } from "../config.js";
import { childOptions, type Context } from "./common.js";

export interface ModelArmorArgs {
  /** Vertex AI's service agent (IAM member, from its ServiceIdentity). */
  vertexAgentMember: pulumi.Input<string>;
}

/** The role Vertex AI's service agent needs to screen calls with Model Armor templates. */
export const VERTEX_AGENT_ROLE = "roles/modelarmor.user";

const RAI_FILTERS = ["SEXUALLY_EXPLICIT", "HATE_SPEECH", "HARASSMENT", "DANGEROUS"] as const;

export class ModelArmor extends pulumi.ComponentResource {
  readonly promptTemplate: gcp.modelarmor.Template;
  readonly responseTemplate: gcp.modelarmor.Template;
  /** projects/{p}/locations/{l}/templates/{t}: the form tenants.ts expects, known at preview. */
  readonly promptTemplateName: string;
  readonly responseTemplateName: string;

  readonly location: string;

  constructor(name: string, args: ModelArmorArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:ModelArmor", name, {}, opts);
    const { cfg } = ctx;
    const location = modelArmorPlacement(cfg).location;
    this.location = location;
    const confidenceLevel = cfg.modelArmorConfidence;
    const common = {
      sdpSettings: { basicConfig: { filterEnforcement: "ENABLED" } },
      maliciousUriFilterSettings: { filterEnforcement: "ENABLED" },
      raiSettings: { raiFilters: RAI_FILTERS.map((filterType) => ({ filterType, confidenceLevel })) },
    };
    const template = (templateId: string, filterConfig: gcp.types.input.modelarmor.TemplateFilterConfig) =>
      new gcp.modelarmor.Template(
        templateId,
        {
          project: cfg.projectId,
          location,
          templateId,
          filterConfig,
          templateMetadata: { enforcementType: "INSPECT_AND_BLOCK" },
        },
        childOptions(this, ctx),
      );

    this.promptTemplate = template("gateway-prompt", {
      piAndJailbreakFilterSettings: { filterEnforcement: "ENABLED", confidenceLevel },
      ...common,
    });
    this.responseTemplate = template("gateway-response", common);
    const nameOf = (id: string) => `projects/${cfg.projectId}/locations/${location}/templates/${id}`;
    this.promptTemplateName = nameOf("gateway-prompt");
    this.responseTemplateName = nameOf("gateway-response");

    new gcp.projects.IAMMember(
      "vertex-agent-modelarmor-user",
      { project: cfg.projectId, role: VERTEX_AGENT_ROLE, member: args.vertexAgentMember },
      childOptions(this, ctx),
    );
    this.registerOutputs({ prompt: this.promptTemplateName, response: this.responseTemplateName });
  }
}
