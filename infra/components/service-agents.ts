/**
 * The Google service agents this project grants roles to, created before the grants, as cloud-foundation-fabric's
 * project module does (google_project_service_identity for each agent, then the IAM members that depend on it). A
 * service agent is often created lazily, on the API's first use; granting a role to one that does not exist yet fails
 * with a 400 on a fresh project.
 *
 * Agents and their e-mails, from fabric's modules/project/service-agents.yaml:
 * - monitoring.googleapis.com → service-<n>@gcp-sa-monitoring-notification: signs uptime checks' OIDC tokens
 *   (run.invoker on each gateway, gateway.ts);
 * - aiplatform.googleapis.com → service-<n>@gcp-sa-aiplatform: calls Model Armor for Vertex (roles/modelarmor.user,
 *   model-armor.ts);
 * - pubsub.googleapis.com → service-<n>@gcp-sa-pubsub: moves refused budget pushes to the dead-letter topic
 *   (publisher there, subscriber on the push subscription, budget.ts).
 * Every grant takes the agent's `member` output, so it waits for the agent.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "./common.js";

export const SERVICE_AGENTS = {
  monitoring: "monitoring.googleapis.com",
  vertex: "aiplatform.googleapis.com",
  pubsub: "pubsub.googleapis.com",
} as const;

export type AgentName = keyof typeof SERVICE_AGENTS;

export interface ServiceAgentsArgs {
  projectId: string;
}

export class ServiceAgents extends pulumi.ComponentResource {
  readonly identities: Record<AgentName, gcp.projects.ServiceIdentity>;

  constructor(name: string, args: ServiceAgentsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:ServiceAgents", name, {}, opts);
    this.identities = Object.fromEntries(
      (Object.entries(SERVICE_AGENTS) as [AgentName, string][]).map(([agent, service]) => [
        agent,
        new gcp.projects.ServiceIdentity(`${agent}-agent`, { project: args.projectId, service }, childOf(this, opts)),
      ]),
    ) as Record<AgentName, gcp.projects.ServiceIdentity>;
    this.registerOutputs(
      Object.fromEntries(Object.entries(this.identities).map(([agent, identity]) => [agent, identity.email])),
    );
  }

  /** The agent as an IAM member ("serviceAccount:…"): an output of its ServiceIdentity, so grants wait for it. */
  member(agent: AgentName): pulumi.Output<string> {
    return this.identities[agent].member;
  }
}
